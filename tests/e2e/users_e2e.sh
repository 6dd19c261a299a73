#!/usr/bin/env bash
# Process-level test of users, groups and modes: two users whose keys the
# keyring names (alice and bob, both in group staff) and admin, against a
# real cluster. A file alice keeps private (0600) is refused to bob for
# read, overwrite, rename and delete, and to his chmod and chown, while
# admin may do all of it; a group-readable one is read by the group; ls -l
# shows mode, owner and group.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster users --masters 1 --workers 3 --chunk-size 1M
KEYS="$RUN/keys"
# Users join as an operator adds them: a key pair each, listed in the keyring.
for u in alice bob; do
  "$DFS" keygen "$WORK/$u" >/dev/null
  echo "client $u $(sed -n 's/^public-key = //p' "$WORK/$u.pub") groups=staff" >>"$KEYS/keyring"
done
as() { local u="$1"; shift; "$DFS" --key "$WORK/$u.key" "$@"; }
head -c 1500000 /dev/urandom >"$WORK/data"
head -c 1000 /dev/urandom >"$WORK/other"

check "admin makes home directories and gives them away" bash -c "
  '$DFS' mkdir -p /home/alice /home/bob && '$DFS' chown alice:staff /home/alice &&
  '$DFS' chown bob /home/bob"
check "a new user's key is let in once the keyring lists it" eventually 10 as alice ls /home
check "ls -l shows mode, owner and group" bash -c "
  '$DFS' ls -l /home | grep -E '^drwxr-xr-x +alice +staff .* alice/$'"

check "alice writes a private file with umask 077" as alice --umask 077 put -q "$WORK/data" /home/alice/secret
check "which is hers, mode 0600" bash -c "
  '$DFS' ls -l /home/alice | grep -E '^-rw------- +alice +staff .* secret$'"
check "alice reads it back" bash -c "'$DFS' --key '$WORK/alice.key' cat /home/alice/secret | cmp -s - '$WORK/data'"

expect_error "bob may not read it" "permission denied: bob may not read /home/alice/secret" \
  as bob get -q /home/alice/secret "$WORK/stolen"
check "and nothing of it reached bob's disk" bash -c "[ ! -s '$WORK/stolen' ]"
expect_error "bob may not overwrite it" "permission denied: bob may not write /home/alice/secret" \
  as bob put -q -f "$WORK/other" /home/alice/secret
expect_error "bob may not rename it" "permission denied: bob may not write" \
  as bob mv /home/alice/secret /home/bob/mine
expect_error "bob may not delete it" "permission denied: bob may not write" \
  as bob rm /home/alice/secret
expect_error "bob may not chmod it" "only the owner \\(alice\\) or admin may chmod" \
  as bob chmod 644 /home/alice/secret
expect_error "bob may not take it" "only admin may give" as bob chown bob /home/alice/secret
expect_error "bob may not create in alice's directory" "permission denied: bob may not write /home/alice" \
  as bob put -q "$WORK/other" /home/alice/planted
check "bob's stat of it shows no chunks" bash -c "
  '$DFS' --key '$WORK/bob.key' stat /home/alice/secret | grep -q 'not shown: you may not read'"
expect_error "fsck is for admin only" "may not send FsckRequest" as bob fsck /
# Straight to a worker, past the master: without the masters' ticket the
# chunk is not served, to bob or even to alice.
stat_json="$("$DFS" stat --json /home/alice/secret)"
chunk="$(grep -o '"id":"[0-9a-f]\{32\}"' <<<"$stat_json" | head -1 | cut -d'"' -f4)"
holder="$(grep -o '"replicas":\["w[0-9]*"' <<<"$stat_json" | head -1 | grep -o 'w[0-9]*')"
holder_ep="$(grep -o "\"$holder\":\"tcp://[0-9.:]*\"" <<<"$stat_json" | head -1 | cut -d'"' -f4)"
direct_read() {  # direct_read USER: asks the holder for the chunk with no ticket
  "$DFS_BUILD/bin/security_probe" --wait-ms 3000 --type dealer --connect "$holder_ep" \
    --server-key "$(sed -n 's/^public-key = //p' "$KEYS/$holder.pub")" --key "$WORK/$1.key" \
    --send "read:$chunk" 2>&1
}
check "bob asking the worker for the chunk directly is refused" bash -c "
  out=\$($(declare -f direct_read); KEYS='$KEYS' WORK='$WORK' DFS_BUILD='$DFS_BUILD' holder='$holder' \
    holder_ep='$holder_ep' chunk='$chunk' direct_read bob)
  grep -q 'reply: ErrorReply.*no valid ticket to read chunk $chunk' <<<\"\$out\" || { echo \"\$out\" >&2; exit 1; }"
check "so is alice, without a ticket" bash -c "
  out=\$($(declare -f direct_read); KEYS='$KEYS' WORK='$WORK' DFS_BUILD='$DFS_BUILD' holder='$holder' \
    holder_ep='$holder_ep' chunk='$chunk' direct_read alice)
  grep -q 'reply: ErrorReply.*no valid ticket' <<<\"\$out\" || { echo \"\$out\" >&2; exit 1; }"
# The same through the worker's bulk channel (sessions keyed over CURVE,
# AES-256-GCM): the ticket is demanded there too, and what does not open
# under the session's key (a replay, a forgery, the worker's own reply sent
# back) is never answered, while the worker goes on serving.
bulk_probe() {
  "$DFS_BUILD/bin/security_probe" --wait-ms 1500 --type dealer --connect "$holder_ep" \
    --server-key "$(sed -n 's/^public-key = //p' "$KEYS/$holder.pub")" --key "$WORK/bob.key" \
    --send "bulk:$chunk" 2>&1
}
bulk_out="$(bulk_probe)"
bulk_says() { grep -qx "$1" <<<"$bulk_out" || { echo "$bulk_out" >&2; return 1; }; }
check "a client opens a bulk session with a worker" bulk_says "bulk session: ok"
check "a ticketless read over it is refused, sealed" \
  bulk_says "bulk read: ErrorReply .*no valid ticket to read chunk $chunk.*"
check "a replayed message is not answered" bulk_says "bulk replay: none"
check "a message sealed with another key is not answered" bulk_says "bulk forged: none"
check "the worker's reply sent back to it is not answered" bulk_says "bulk reflected: none"
check "a session the worker does not hold gets the notice" bulk_says "bulk unknown session: notice"
check "garbage is not answered" bulk_says "bulk garbage: none"
check "a connection that holds no session is not let in" bulk_says "bulk stranger: none"
check "a route into the session forged on the data socket gets nothing" \
  bulk_says "bulk forged route: none"
check "and the worker still answers the session after all that" \
  bulk_says "bulk after: ErrorReply .*no valid ticket.*"
check "alice's file is as she wrote it" bash -c "'$DFS' cat /home/alice/secret | cmp -s - '$WORK/data'"

check "alice opens it to her group (chmod 640)" as alice chmod 640 /home/alice/secret
check "bob, in group staff, reads it now" bash -c "
  '$DFS' --key '$WORK/bob.key' cat /home/alice/secret | cmp -s - '$WORK/data'"
expect_error "but still may not overwrite it" "permission denied" \
  as bob put -q -f "$WORK/other" /home/alice/secret
check "bob writes in his own directory" as bob put -q "$WORK/other" /home/bob/own
check "which is his" bash -c "'$DFS' ls -l /home/bob | grep -E '^-rw-r--r-- +bob +admin .* own$'"

check "admin reads alice's file" bash -c "'$DFS' cat /home/alice/secret | cmp -s - '$WORK/data'"
check "admin overwrites it" "$DFS" put -q -f "$WORK/other" /home/alice/secret
check "which keeps its owner and mode" bash -c "
  '$DFS' ls -l /home/alice | grep -E '^-rw-r----- +alice +staff .* secret$'"
check "admin renames it" "$DFS" mv /home/alice/secret /home/alice/renamed
check "admin gives it to bob" "$DFS" chown bob:staff /home/alice/renamed
check "admin deletes it" "$DFS" rm /home/alice/renamed
check "a bad mode is a usage error" bash -c "'$DFS' chmod 1777 /home/bob; [ \$? -eq 2 ]"

finish
