-- :checkhealth escape_lsp
local M = {}

local function run(cmd)
  local ok, result = pcall(vim.system, cmd, { text = true })
  if not ok then
    return nil
  end
  local done = result:wait(20000)
  if done.code ~= 0 then
    return nil, (done.stderr or '') .. (done.stdout or '')
  end
  return vim.trim(done.stdout or '')
end

function M.check()
  local escape = require('escape_lsp')
  vim.health.start('escape-lsp')
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok('Neovim ' .. tostring(vim.version()))
  else
    vim.health.error('Neovim 0.11 or newer is required (vim.lsp.config / vim.lsp.enable)')
  end

  local cmd = escape.server_cmd()
  local python = escape.options.python or (cmd[2] == '-m' and cmd[1]) or nil
  if python then
    local version = run({ python, '--version' })
    if version then
      vim.health.ok('Python: ' .. python .. ' (' .. version .. ')')
    else
      vim.health.error('Python not runnable: ' .. python)
    end
  elseif vim.fn.executable('python3') == 1 then
    vim.health.ok('Python: ' .. vim.fn.exepath('python3'))
  else
    vim.health.warn('python3 not found on PATH')
  end

  if vim.fn.executable(cmd[1]) == 0 then
    vim.health.error('server command not found: ' .. cmd[1], {
      'Install it: python3 -m pip install escape-lsp',
      "Or set require('escape_lsp').setup({ python = '/path/to/python' })",
    })
  else
    local version = python and run({ python, '-c', 'import escape_lsp; print(escape_lsp.__version__)' })
      or run({ cmd[1], '--version' })
    if version then
      vim.health.ok('escape-lsp server: ' .. version .. ' (' .. table.concat(cmd, ' ') .. ')')
    else
      vim.health.error('escape-lsp is not installed for ' .. cmd[1], { 'python -m pip install escape-lsp' })
    end
  end

  local go = run({ 'go', 'env', 'GOVERSION' })
  if not go then
    vim.health.error('go not found on PATH', { 'Install Go 1.24 or newer: https://go.dev/dl/' })
  else
    local major, minor = go:match('go(%d+)%.(%d+)')
    if major and (tonumber(major) > 1 or tonumber(minor) >= 24) then
      vim.health.ok('Go: ' .. go)
    else
      vim.health.error('Go ' .. go .. ' is too old; escape-lsp needs Go 1.24 or newer')
    end
  end
end

return M
