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
  local install = require('escape_lsp.install')
  vim.health.start('escape-lsp')
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok('Neovim ' .. tostring(vim.version()))
  else
    vim.health.error('Neovim 0.11 or newer is required (vim.lsp.config / vim.lsp.enable)')
  end

  local cmd = escape.server_cmd()
  if not cmd then
    vim.health.error('the escape-lsp server is not installed', {
      'Run ' .. install.fix_hint(),
      "Or point setup() at a server you installed: require('escape_lsp').setup({ cmd = { '/path/to/escape-lsp', 'serve' } })",
    })
  elseif vim.fn.executable(cmd[1]) == 0 then
    vim.health.error('server command not runnable: ' .. cmd[1], {
      'Fix setup()\'s cmd/python option, or drop it and run ' .. install.fix_hint(),
    })
  else
    local version, err = run(cmd[2] == '-m' and { cmd[1], '-m', 'escape_lsp', '--version' } or { cmd[1], '--version' })
    if version then
      vim.health.ok(('escape-lsp server: %s (%s)'):format((version:gsub('^escape%-lsp ', '')), table.concat(cmd, ' ')))
    else
      vim.health.error('escape-lsp does not start: ' .. table.concat(cmd, ' '), {
        vim.trim(err or ''),
        'Reinstall it: ' .. install.fix_hint(),
      })
    end
  end

  local root = install.checkout()
  local python, why = install.find_python()
  if not root then
    vim.health.info('this copy of the plugin is not in an escape-lsp checkout: :EscapeLspInstall cannot work')
  elseif python then
    vim.health.ok(('for :EscapeLspInstall: %s (Python %s), checkout %s'):format(
      python, install.python_version(python), root))
  else
    vim.health.warn(why)
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
