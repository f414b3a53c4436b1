-- Driven by test_nvim.py: a real headless Neovim, the plugin from editors/nvim, the real server.
-- Writes what it saw as JSON to $ESCAPE_OUT, then quits.
local out = {}
local function finish(err)
  out.error = err
  local fh = assert(io.open(os.getenv('ESCAPE_OUT'), 'w'))
  fh:write(vim.json.encode(out))
  fh:close()
  vim.cmd('qa!')
end

local ok, err = xpcall(function()
  vim.opt.rtp:prepend(os.getenv('ESCAPE_PLUGIN'))
  vim.cmd('filetype plugin indent on')
  require('escape_lsp').setup({ python = os.getenv('ESCAPE_PYTHON'), settings = { debounceMs = 50 } })
  vim.cmd.edit(os.getenv('ESCAPE_FILE'))

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
  local d = vim.diagnostic.get(0)[1]
  local hover = client:request_sync('textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    position = { line = d.lnum, character = d.col },
  }, 20000, 0)
  out.hover = hover and hover.result and hover.result.contents.value

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
