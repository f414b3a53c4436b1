-- Driven by test_nvim.py: a real headless Neovim with a fresh data dir, the plugin from
-- editors/nvim, no server anywhere. The plugin says what to run, installs its own server
-- (:EscapeLspInstall!), then the real server serves. Writes what it saw as JSON to $ESCAPE_OUT.
local out = { notes = {} }
local function finish(err)
  out.error = err
  local fh = assert(io.open(os.getenv('ESCAPE_OUT'), 'w'))
  fh:write(vim.json.encode(out))
  fh:close()
  vim.cmd('qa!')
end

local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(out.notes, { msg = msg, level = level })
  return notify(msg, level, opts)
end

local function noted(pattern)
  for _, n in ipairs(out.notes) do
    if n.msg:find(pattern) then
      return n
    end
  end
end

local ok, err = xpcall(function()
  vim.opt.rtp:prepend(os.getenv('ESCAPE_PLUGIN'))
  vim.cmd('filetype plugin indent on')
  vim.cmd('runtime! plugin/escape_lsp.lua') -- what loading the plugin does
  out.commands_without_setup = vim.fn.exists(':EscapeLspInstall') == 2 and vim.fn.exists(':EscapeLspStatus') == 2

  -- No server yet: opening a Go file says so, with the command that fixes it.
  require('escape_lsp').setup({ settings = { debounceMs = 50 } })
  vim.cmd.edit(os.getenv('ESCAPE_FILE'))
  assert(vim.wait(10000, function() return noted('not installed') ~= nil end, 50), 'no message about the missing server')
  out.missing = noted('not installed')

  out.bad_python = select(2, require('escape_lsp.install').find_python('/nonexistent/python3'))
  vim.cmd('EscapeLspInstall!')
  out.installed = noted('^escape%-lsp: installed ') or noted('install failed')
  out.server_path = require('escape_lsp.install').server()

  assert(vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 50), 'no diagnostics')
  out.diagnostics = vim.tbl_map(function(d)
    return { lnum = d.lnum, col = d.col, end_col = d.end_col, message = d.message, source = d.source, code = d.code }
  end, vim.diagnostic.get(0))

  assert(vim.wait(20000, function() return #vim.lsp.inlay_hint.get({ bufnr = 0 }) > 0 end, 50), 'no inlay hints')
  out.hints = vim.tbl_map(function(h)
    local label = h.inlay_hint.label
    return { line = h.inlay_hint.position.line, character = h.inlay_hint.position.character, label = type(label) == 'string' and label or label[1].value }
  end, vim.lsp.inlay_hint.get({ bufnr = 0 }))

  local client = vim.lsp.get_clients({ name = 'escape_lsp' })[1]
  out.root = client.root_dir
  out.encoding = client.offset_encoding
  out.cmd = client.config.cmd and type(client.config.cmd) == 'table' and client.config.cmd or nil
  local d = vim.diagnostic.get(0)[1]
  local hover = client:request_sync('textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    position = { line = d.lnum, character = d.col },
  }, 20000, 0)
  out.hover = hover and hover.result and hover.result.contents.value

  -- The code lens's command fills the quickfix list with the findings, not source lines.
  local lenses = client:request_sync('textDocument/codeLens', { textDocument = { uri = vim.uri_from_bufnr(0) } }, 20000, 0)
  local lens = lenses and lenses.result and lenses.result[1]
  assert(lens, 'no code lens')
  local source_buf = vim.api.nvim_get_current_buf()
  vim.lsp.commands[lens.command.command](lens.command, { client_id = client.id, bufnr = source_buf })
  out.quickfix = vim.tbl_map(function(item) return { lnum = item.lnum, col = item.col, text = item.text } end, vim.fn.getqflist())
  vim.cmd.cclose()
  vim.api.nvim_set_current_buf(source_buf)

  vim.api.nvim_win_set_cursor(0, { d.lnum + 1, d.col })
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { 'quickfix' }, diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(0)) },
    filter = function(action) return action.title:match('^Return ') ~= nil end,
  })
  assert(vim.wait(60000, function()
    return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'):find('int) Point {', 1, true) ~= nil
  end, 50), 'quick fix not applied')
  out.text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  assert(vim.wait(60000, function()
    for _, diag in ipairs(vim.diagnostic.get(0)) do
      if diag.message == 'moved to heap: p' then return false end
    end
    return true
  end, 50), 'finding still there after the fix')

  vim.cmd('checkhealth escape_lsp')
  out.health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
end, debug.traceback)
finish(not ok and err or nil)
