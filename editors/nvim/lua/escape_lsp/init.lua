-- escape-lsp for Neovim: the Go compiler's escape analysis as diagnostics, inlay hints, hovers,
-- code lenses and verified quick fixes.
local install = require('escape_lsp.install')

local M = {}

M.defaults = {
  -- The whole command that starts the server; nil: `python -m escape_lsp serve` when `python`
  -- is set, else the server :EscapeLspInstall put in the plugin's venv, else `escape-lsp` on PATH.
  cmd = nil,
  python = nil,
  -- Server settings (section escapeLsp), e.g. { kinds = { 'heap', 'leaks', 'inlining' } }.
  settings = {},
  -- Turn on inlay hints in Go buffers when the server attaches.
  inlay_hints = true,
}

M.options = vim.deepcopy(M.defaults)

--- The command that starts the server, from the options; nil when there is none to run.
function M.server_cmd(opts)
  opts = opts or M.options
  if opts.cmd then
    return opts.cmd
  end
  if opts.python then
    return { opts.python, '-m', 'escape_lsp', 'serve' }
  end
  if vim.fn.executable(install.server()) == 1 then
    return { install.server(), 'serve' }
  end
  if vim.fn.executable('escape-lsp') == 1 then
    return { 'escape-lsp', 'serve' }
  end
  return nil
end

--- The config's `cmd`: starts the server, or says why it cannot and what fixes it.
function M.start_rpc(dispatchers, config)
  local cmd = M.server_cmd()
  if cmd and vim.fn.executable(cmd[1]) == 1 then
    return vim.lsp.rpc.start(cmd, dispatchers, {
      cwd = config and config.cmd_cwd,
      env = config and config.cmd_env,
    })
  end
  local message
  if cmd then
    message = ('escape-lsp: cannot run %s (setup() option cmd/python). Fix the option, or drop it '
      .. 'and run %s'):format(cmd[1], install.fix_hint())
  else
    message = 'escape-lsp: the server is not installed. Run ' .. install.fix_hint()
  end
  -- Level 0: Neovim shows the message as it is (vim.notify), without a Lua position.
  error(message, 0)
end

--- Install or update the server, then (re)start it for the open Go buffers.
function M.install(python, wait)
  local job = install.run({
    python = python,
    on_done = function(ok)
      if ok then
        M.restart()
      end
    end,
  })
  if wait then
    install.wait(job)
  end
  return job
end

--- Stop running escape-lsp clients and start them again with the current command.
function M.restart()
  local clients = vim.lsp.get_clients({ name = 'escape_lsp' })
  for _, c in ipairs(clients) do
    c:stop()
  end
  local deadline = vim.uv.now() + 3000
  local function start()
    local left = vim.lsp.get_clients({ name = 'escape_lsp' })
    if #left > 0 and vim.uv.now() < deadline then
      vim.defer_fn(start, 50)
      return
    end
    for _, c in ipairs(left) do
      c:stop(true)
    end
    if vim.lsp.is_enabled == nil or vim.lsp.is_enabled('escape_lsp') then
      vim.lsp.enable('escape_lsp')
    end
  end
  start()
end

local function client(bufnr)
  return vim.lsp.get_clients({ name = 'escape_lsp', bufnr = bufnr })[1]
end

--- Run a server command (escapeLsp.*) and hand its result to `on_result`.
function M.execute(command, arguments, on_result)
  local c = client(0) or vim.lsp.get_clients({ name = 'escape_lsp' })[1]
  if not c then
    vim.notify('escape-lsp is not running (:checkhealth escape_lsp says why)', vim.log.levels.WARN)
    return
  end
  c:request('workspace/executeCommand', { command = command, arguments = arguments or {} }, function(err, result)
    if err then
      vim.notify('escape-lsp: ' .. err.message, vim.log.levels.ERROR)
    elseif on_result then
      on_result(result)
    end
  end)
end

--- Quickfix items for the code lens's locations, each with the finding it points at
--- (`moved-to-heap: moved to heap: p`) taken from the escape-lsp diagnostics there.
function M.finding_items(locations, encoding)
  local items = vim.lsp.util.locations_to_items(locations, encoding)
  local at = {}
  for _, item in ipairs(items) do
    local bufnr = vim.fn.bufnr(item.filename)
    if bufnr > 0 and not at[bufnr] then
      at[bufnr] = {}
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        if d.source == 'escape-lsp' then
          local key = d.lnum .. ':' .. d.col
          at[bufnr][key] = at[bufnr][key] or {}
          table.insert(at[bufnr][key], d)
        end
      end
    end
    local here = bufnr > 0 and at[bufnr][(item.lnum - 1) .. ':' .. (item.col - 1)]
    local d = here and table.remove(here, 1)
    if d then
      item.text = d.code and (d.code .. ': ' .. d.message) or d.message
    end
  end
  return items
end

-- The code lens command: list the function's findings in the quickfix list.
function M.show_function_findings(command, ctx)
  local c = ctx and ctx.client_id and vim.lsp.get_client_by_id(ctx.client_id)
  local locations = command.arguments and command.arguments[3] or {}
  local items = M.finding_items(locations, c and c.offset_encoding or 'utf-16')
  vim.fn.setqflist({}, ' ', { title = 'escape-lsp findings', items = items })
  vim.cmd.copen()
end

local KINDS = { 'heap', 'leaks', 'inlining', 'captures', 'does-not-escape', 'bounds', 'nil', 'all' }

--- The user commands; plugin/escape_lsp.lua defines them, so they exist without setup().
function M.define_commands()
  local function kind_command(name, server_command)
    vim.api.nvim_create_user_command(name, function(args)
      M.execute(server_command, args.fargs, function(result)
        vim.notify('escape-lsp kinds: ' .. table.concat(result.kinds or {}, ', '))
      end)
    end, { nargs = '+', complete = function() return KINDS end, desc = 'escape-lsp: ' .. server_command })
  end
  vim.api.nvim_create_user_command('EscapeLspInstall', function(args)
    M.install(args.fargs[1], args.bang)
  end, {
    nargs = '?',
    bang = true,
    complete = 'shellcmd',
    desc = 'escape-lsp: install/update the server in the plugin\'s venv ([python]; ! waits)',
  })
  vim.api.nvim_create_user_command('EscapeLspRebuild', function() M.execute('escapeLsp.rebuild') end,
    { desc = 'escape-lsp: rebuild open packages' })
  vim.api.nvim_create_user_command('EscapeLspAnalyzeWorkspace', function()
    M.execute('escapeLsp.analyzeWorkspace', {}, function(r)
      vim.notify(('escape-lsp: %d packages, %d findings'):format(r.packages or 0, r.findings or 0))
    end)
  end, { desc = 'escape-lsp: analyse every package of the workspace' })
  vim.api.nvim_create_user_command('EscapeLspStatus', function()
    M.execute('escapeLsp.status', {}, function(r) vim.notify('escape-lsp: ' .. vim.inspect(r)) end)
  end, { desc = 'escape-lsp: analysis state' })
  kind_command('EscapeLspShowKind', 'escapeLsp.showKind')
  kind_command('EscapeLspHideKind', 'escapeLsp.hideKind')
  vim.lsp.commands['escapeLsp.showFunctionFindings'] = M.show_function_findings
end

function M.setup(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local settings = { escapeLsp = M.options.settings }
  vim.lsp.config('escape_lsp', {
    settings = settings,
    init_options = settings,
  })
  M.define_commands()
  vim.api.nvim_create_autocmd('LspAttach', {
    group = vim.api.nvim_create_augroup('escape_lsp', { clear = true }),
    callback = function(ev)
      local c = vim.lsp.get_client_by_id(ev.data.client_id)
      if c and c.name == 'escape_lsp' and M.options.inlay_hints then
        vim.lsp.inlay_hint.enable(true, { bufnr = ev.buf })
      end
    end,
  })
  vim.lsp.enable('escape_lsp')
end

return M
