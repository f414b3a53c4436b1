-- Config for `vim.lsp.enable('escape_lsp')` (Neovim 0.11+). `require('escape_lsp').setup()`
-- fills in cmd/settings from its options; this file alone works when escape-lsp is on PATH.
return {
  cmd = { 'escape-lsp', 'serve' },
  filetypes = { 'go' },
  -- go.work first, so a workspace's modules share one server, then the module, then the repo.
  root_markers = { 'go.work', 'go.mod', '.git' },
  settings = { escapeLsp = {} },
  init_options = { escapeLsp = {} },
}
