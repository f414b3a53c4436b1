;;; check.el --- run escape-lsp.el for real: emacs --batch -Q -l editors/emacs/check.el FILE.go
;; Verified with Debian's emacs-nox 28.2, elpa-eglot 1.9 and elpa-go-mode 1.6: prints
;; "OK escape-lsp [moved-to-heap]: moved to heap: x" for a file with `x := 1; return &x`.
;; The server is the checkout's .venv/bin/escape-lsp (the README's set-up), or $ESCAPE_LSP.
(package-initialize)
(dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
  (add-to-list 'load-path dir))
(require 'go-mode)
(require 'eglot)
;; A user's own configuration, which loading escape-lsp.el must keep.
(setq-default eglot-workspace-configuration '(:gopls (:staticcheck t)))
(let ((here (file-name-directory load-file-name)))
  (setq escape-lsp-program
        (or (getenv "ESCAPE_LSP") (expand-file-name "../../.venv/bin/escape-lsp" here)))
  (load (expand-file-name "escape-lsp.el" here)))
(unless (and (equal (plist-get (default-value 'eglot-workspace-configuration) :gopls)
                    '(:staticcheck t))
             (plist-get (default-value 'eglot-workspace-configuration) :escapeLsp))
  (princ (format "CONFIGURATION NOT MERGED: %S\n" (default-value 'eglot-workspace-configuration)))
  (kill-emacs 1))
(find-file (car command-line-args-left))
(apply #'eglot (eglot--guess-contact))
(let ((deadline (+ (float-time) 60)) found)
  (while (and (not found) (< (float-time) deadline))
    (accept-process-output nil 0.2)
    (flymake-start)
    (setq found (seq-find (lambda (d) (string-match-p "escapes to heap\\|moved to heap" (flymake-diagnostic-text d)))
                          (flymake-diagnostics))))
  (princ (if found (format "OK %s\n" (flymake-diagnostic-text found)) "NO DIAGNOSTIC\n"))
  (kill-emacs (if found 0 1)))
