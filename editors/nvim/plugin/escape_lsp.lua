-- Sourced when the plugin loads: the :EscapeLsp* commands (among them :EscapeLspInstall) and the
-- code lens command exist without setup(). Starting the server is setup()'s or
-- vim.lsp.enable('escape_lsp')'s job.
if vim.g.loaded_escape_lsp or vim.fn.has('nvim-0.11') == 0 then
  return
end
vim.g.loaded_escape_lsp = true
require('escape_lsp').define_commands()
