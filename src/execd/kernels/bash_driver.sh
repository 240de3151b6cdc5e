# Long-lived bash shell driven by sandbox-execd. Each call's code is written by the server to
# a private file and sourced here, so cwd, variables, functions and exports persist between
# calls. Requests arrive on fd 3 as one line "<id> <sentinel> <file>"; replies go back on fd 3
# in the same JSON shape the Python and JavaScript drivers use.
trap '' INT
# Address-space cap from the server (soft and hard, inherited by every command): a runaway
# allocation fails inside the call instead of an out-of-memory kill of the whole sandbox.
if [[ -n "${EXECD_KERNEL_MEMORY_BYTES:-}" ]]; then
  ulimit -v $((EXECD_KERNEL_MEMORY_BYTES / 1024)) 2>/dev/null
fi
unset EXECD_KERNEL_MEMORY_BYTES
printf '{"type":"ready","version":"%s"}\n' "$BASH_VERSION" >&3
while IFS= read -r -u 3 __execd_line; do
  __execd_id=${__execd_line%% *}
  __execd_rest=${__execd_line#* }
  __execd_sentinel=${__execd_rest%% *}
  __execd_file=${__execd_rest#* }
  # During a call an interrupt ends the sourced code (status 130) but not the shell.
  trap 'return 130 2>/dev/null' INT
  . "$__execd_file" </dev/null
  __execd_status=$?
  trap '' INT
  printf '%s' "$__execd_sentinel"
  printf '%s' "$__execd_sentinel" >&2
  printf '{"type":"done","id":%s,"exitCode":%d,"error":null}\n' "$__execd_id" "$__execd_status" >&3
done
