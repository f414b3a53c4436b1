;;; escape-lsp.el --- eglot configuration for escape-lsp  -*- lexical-binding: t; -*-
;; Load it (or copy these forms) into your init file. Eglot runs one server per buffer, so in
;; go-mode buffers this replaces gopls; see the README.
(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               '((go-mode go-ts-mode) . ("escape-lsp" "serve"))))
(setq-default eglot-workspace-configuration '(:escapeLsp (:kinds ["heap" "leaks"])))
(provide 'escape-lsp)
;;; escape-lsp.el ends here
