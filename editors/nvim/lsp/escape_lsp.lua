-- Config for `vim.lsp.enable('escape_lsp')` (Neovim 0.11+), with or without setup(). The command
-- is chosen when a server starts: setup()'s cmd/python, else the server :EscapeLspInstall put in
-- the plugin's venv, else `escape-lsp` on PATH; with none, Neovim shows what to run.
return {
  cmd = function(dispatchers, config)
    return require('escape_lsp').start_rpc(dispatchers, config)
  end,
  filetypes = { 'go' },
  -- go.work first, so a workspace's modules share one server, then the module, then the repo.
  root_markers = { 'go.work', 'go.mod', '.git' },
  settings = { escapeLsp = {} },
  init_options = { escapeLsp = {} },
}
