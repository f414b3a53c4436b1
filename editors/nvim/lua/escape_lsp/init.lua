-- escape-lsp for Neovim: the Go compiler's escape analysis as diagnostics, inlay hints, hovers,
-- code lenses and verified quick fixes.
local M = {}

M.defaults = {
  -- The command that starts the server; nil: `python -m escape_lsp serve` when `python` is set,
  -- else `escape-lsp serve` from PATH.
  cmd = nil,
  python = nil,
  -- Server settings (section escapeLsp), e.g. { kinds = { 'heap', 'leaks', 'inlining' } }.
  settings = {},
  -- Turn on inlay hints in Go buffers when the server attaches.
  inlay_hints = true,
}

M.options = vim.deepcopy(M.defaults)

--- The command used to start the server, from the options.
function M.server_cmd(opts)
  opts = opts or M.options
  if opts.cmd then
    return opts.cmd
  end
  if opts.python then
    return { opts.python, '-m', 'escape_lsp', 'serve' }
  end
  return { 'escape-lsp', 'serve' }
end

local function client(bufnr)
  return vim.lsp.get_clients({ name = 'escape_lsp', bufnr = bufnr })[1]
end

--- Run a server command (escapeLsp.*) and hand its result to `on_result`.
function M.execute(command, arguments, on_result)
  local c = client(0) or vim.lsp.get_clients({ name = 'escape_lsp' })[1]
  if not c then
    vim.notify('escape-lsp is not running', vim.log.levels.WARN)
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

local KINDS = { 'heap', 'leaks', 'inlining', 'captures', 'does-not-escape', 'bounds', 'nil', 'all' }

local function define_commands()
  local function kind_command(name, server_command)
    vim.api.nvim_create_user_command(name, function(args)
      M.execute(server_command, args.fargs, function(result)
        vim.notify('escape-lsp kinds: ' .. table.concat(result.kinds or {}, ', '))
      end)
    end, { nargs = '+', complete = function() return KINDS end, desc = 'escape-lsp: ' .. server_command })
  end
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
end

-- The code lens command: list the function's findings in the quickfix list.
vim.lsp.commands['escapeLsp.showFunctionFindings'] = function(command)
  local locations = command.arguments and command.arguments[3] or {}
  local items = vim.lsp.util.locations_to_items(locations, 'utf-16')
  vim.fn.setqflist({}, ' ', { title = 'escape-lsp findings', items = items })
  vim.cmd.copen()
end

function M.setup(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local settings = { escapeLsp = M.options.settings }
  vim.lsp.config('escape_lsp', {
    cmd = M.server_cmd(M.options),
    settings = settings,
    init_options = settings,
  })
  define_commands()
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
