# go build's -toolexec for escape-lsp (see compile_stream.py): runs each tool as go asked; a
# compile with -m=2 also copies what it prints, as it prints it, into the command's GOTMPDIR
# (go shows a compile's output only once the compile has ended), after a first line naming
# the package (TOOLEXEC_IMPORTPATH). go gets the same output, and the same exit or signal.
case $1 in */compile | */compile.exe) ;; *) exec "$@" ;; esac
[ -n "$GOTMPDIR" ] && [ -d "$GOTMPDIR" ] && command -v tee >/dev/null 2>&1 || exec "$@"
for arg; do
	[ "$arg" = -m=2 ] && break
done
[ "$arg" = -m=2 ] || exec "$@"
out=$GOTMPDIR/escape-lsp-stream.$$
printf '%s\n' "$TOOLEXEC_IMPORTPATH" >"$out" 2>/dev/null || exec "$@"
# The compiler's stderr joins its stdout (go reads both into one buffer); the shell's own
# messages (a "Killed" when the compiler is) go nowhere. Its exit status comes out on fd 4.
exec 3>&1 2>/dev/null
status=$({ { "$@" 2>&1 3>&- 4>&- & wait $!; echo $? >&4; } | tee -a "$out" >&3 3>&- 4>&-; } 4>&1)
exec 3>&-
case $status in
'' | *[!0-9]*) exit 1 ;;
esac
if [ "$status" -gt 128 ]; then # killed: die of the same signal, as go would have seen it
	trap - "$((status - 128))"
	kill -s "$((status - 128))" $$
fi
exit "$status"
