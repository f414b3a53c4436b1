;;; escape-lsp.el --- eglot configuration for escape-lsp  -*- lexical-binding: t; -*-
;; Load it (or copy these forms) into your init file. Eglot runs one server per buffer, so in
;; go-mode buffers this replaces gopls; see the README.
(defvar escape-lsp-program "/path/to/escape-lsp/.venv/bin/escape-lsp"
  "The server: the checkout's .venv from the README's set-up, or \"escape-lsp\" on PATH.")

(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               `((go-mode go-ts-mode) . (,escape-lsp-program "serve")))
  ;; Add the escapeLsp section to the configuration already there (a plist), keeping the rest.
  (setq-default eglot-workspace-configuration
                (plist-put (copy-sequence (default-value 'eglot-workspace-configuration))
                           :escapeLsp '(:kinds ["heap" "leaks"]))))
(provide 'escape-lsp)
;;; escape-lsp.el ends here
