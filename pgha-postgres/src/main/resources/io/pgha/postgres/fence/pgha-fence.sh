# pgha fence: stops the local PostgreSQL primary when the pgha agent stops feeding it.
#
# Usage: bash pgha-fence.sh DATA_DIR [STATE_FILE [CHANNEL PID_FILE]]
#
# The agent writes one command a line on the channel: this process's standard input (a pipe from
# the agent), or, with CHANNEL, a named pipe this script creates there. With a named pipe the agent
# starts the fence detached (setsid -f): it is then no descendant of the agent, in a session and
# process group of its own, so that freezing or killing the agent together with everything it
# started leaves the fence running. The script writes its PID to PID_FILE first, then makes the
# pipe, and waits up to 10 s for the agent's HELLO on it (else it ends: the agent is gone).
# Commands:
#   ARM <ms>   stop PostgreSQL unless another command arrives within <ms> milliseconds; feeds the
#              watchdog when one is open
#   DISARM     never stop PostgreSQL until armed again (this member is not, or no longer, the leader);
#              closes the watchdog in an orderly way
#   EXIT       end the fence without touching PostgreSQL (the agent is closing down cleanly); closes
#              the watchdog in an orderly way
#   WATCHDOG <seq> <device>
#              open a Linux watchdog device (the agent has set its timeout already) and answer in
#              STATE_FILE with "<seq> open" or "<seq> failed <why>"
#   WATCHDOG_TIMEOUT <seconds>
#              write "Ctimeout=<seconds>" and a newline to the open watchdog: Patroni's testing driver
#              (watchdog.driver: testing, a named pipe in Patroni's acceptance harness), which takes
#              the timeout that way instead of through an ioctl
#   UNWATCH    close the watchdog in an orderly way, staying armed (the agent changes its timeout)
# End of input (the agent died: kill -9, crash) while armed stops PostgreSQL at once; while disarmed
# the fence just ends. A deadline that passes unfed (the agent is frozen: SIGSTOP, a long GC pause,
# a stuck DCS call) stops PostgreSQL. A data directory with standby.signal is a replica and is never
# stopped.
#
# The watchdog (Patroni's watchdog: section): opening the device starts the kernel's countdown; each
# ARM writes a keepalive ('1'); an orderly close writes the magic close character 'V' first, which
# stops the countdown. It is never closed that way when the agent dies or freezes: the fence stops
# PostgreSQL as above and leaves the watchdog unfed (or, on exit, closed without 'V', which the kernel
# treats the same), so if PostgreSQL could not be stopped, or this process is frozen too, the kernel
# resets the host when the watchdog's timeout passes.
#
# Stopping is PostgreSQL's fast shutdown first: SIGINT to the postmaster named in postmaster.pid,
# which at once refuses connections and terminates every client backend (no commit is acknowledged
# from then on), writes a shutdown checkpoint, and keeps its walsenders until they have sent the
# WAL written so far to the standbys still connected: with asynchronous replication, the commits
# acknowledged just before the fence acted reach the replica that takes over (an immediate shutdown
# cut them off). When it is still running FAST_TENTHS tenths of a second later (a stuck checkpoint),
# the immediate shutdown: SIGQUIT (its children quit at once); SIGKILL when it is still there 5 s
# after that.
# Needs only bash (for read -t with a fractional timeout) and the kernel's /proc.

set -u
DATA_DIR=${1:?usage: pgha-fence.sh DATA_DIR [STATE_FILE [CHANNEL PID_FILE]]}
STATE_FILE=${2:-}
CHANNEL=${3:-}
PID_FILE=${4:-}
FAST_TENTHS=30
armed=0
timeout_s=
wdfd=
wddev=

log() {
    printf '%s pgha-fence[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ 2>/dev/null || date)" "$$" "$*"
}

postmaster_pid() {
    local line
    # a regular file, and only its first bytes: a link to a device or a FIFO must not hang the fence
    [ -f "$DATA_DIR/postmaster.pid" ] && [ -r "$DATA_DIR/postmaster.pid" ] || return 1
    line=$(head -c 32 -- "$DATA_DIR/postmaster.pid" 2>/dev/null | head -n 1)
    case "$line" in
        ''|*[!0-9]*) return 1 ;;
    esac
    # a stale postmaster.pid may name a PID another program has now
    [ -r "/proc/$line/cmdline" ] || return 1
    case "$(tr '\0' ' ' < "/proc/$line/cmdline" 2>/dev/null)" in
        *postgres*|*postmaster*) ;;
        *) return 1 ;;
    esac
    # and it must be this data directory's postmaster: a postmaster works in its data directory
    # (it changes into it at start), so a PID planted in postmaster.pid that names some other
    # process, even one called postgres, is not signalled
    local cwd data
    cwd=$(readlink -f "/proc/$line/cwd" 2>/dev/null) || return 1
    data=$(readlink -f "$DATA_DIR" 2>/dev/null) || return 1
    if [ -z "$cwd" ] || [ "$cwd" != "$data" ]; then
        log "postmaster.pid names process $line, which works in ${cwd:-?}, not in $data: not this data directory's postmaster" >&2
        return 1
    fi
    printf '%s' "$line"
}

fence() {
    local why=$1 pid i
    if [ -e "$DATA_DIR/standby.signal" ]; then
        log "$why, but $DATA_DIR is a replica (standby.signal): not stopping it"
        return
    fi
    if ! pid=$(postmaster_pid); then
        log "$why; no running postmaster in $DATA_DIR"
        return
    fi
    log "$why: stopping PostgreSQL (postmaster $pid) with a fast shutdown"
    kill -INT "$pid" 2>/dev/null
    for i in $(seq 1 "$FAST_TENTHS"); do
        kill -0 "$pid" 2>/dev/null || { log "PostgreSQL stopped"; return; }
        sleep 0.1
    done
    log "postmaster $pid still running $((FAST_TENTHS / 10)) s after SIGINT: immediate shutdown (SIGQUIT)"
    kill -QUIT "$pid" 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2>/dev/null || { log "PostgreSQL stopped"; return; }
        sleep 0.5
    done
    log "postmaster $pid still alive after SIGQUIT: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
}

answer() {
    [ -n "$STATE_FILE" ] || return 0
    printf '%s\n' "$*" > "$STATE_FILE.tmp" && mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

watchdog_open() {
    local seq=$1 dev=$2
    if [ -n "$wdfd" ]; then
        answer "$seq open"
        return
    fi
    # never create it: a missing device must fail, not become a regular file
    if [ ! -e "$dev" ]; then
        log "cannot open the watchdog $dev: it does not exist"
        answer "$seq failed $dev does not exist"
        return
    fi
    if [ ! -w "$dev" ]; then
        log "cannot open the watchdog $dev: not writable by this user"
        answer "$seq failed $dev is not writable by this user"
        return
    fi
    if ! { exec {wdfd}>>"$dev"; }; then
        wdfd=
        log "cannot open the watchdog $dev (in use by another program?)"
        answer "$seq failed cannot open $dev (in use by another program?)"
        return
    fi
    wddev=$dev
    log "watchdog $dev opened: it resets the host unless fed in time"
    answer "$seq open"
}

watchdog_feed() {
    [ -n "$wdfd" ] || return 0
    printf '1' >&"$wdfd" || log "could not send a keepalive to the watchdog $wddev"
}

# the orderly close: the magic close character stops the countdown (a driver without magic close,
# or one built with nowayout, keeps counting: the host is reset unless fed again)
watchdog_close() {
    [ -n "$wdfd" ] || return 0
    printf 'V' >&"$wdfd" || log "could not write the magic close character to the watchdog $wddev"
    exec {wdfd}>&-
    wdfd=
    log "watchdog $wddev closed ($1)"
}

# the named pipe: opened for reading and writing first (which never blocks), then for reading
# alone; the extra writer is closed once the agent said HELLO, so that from then on the agent's
# end closing (its death) is an end of input here, as with a plain pipe
open_channel() {
    printf '%s\n' "$$" > "$PID_FILE.tmp" && mv -f "$PID_FILE.tmp" "$PID_FILE" || exit 1
    rm -f -- "$CHANNEL"
    mkfifo -m 600 -- "$CHANNEL" || { log "cannot make the channel $CHANNEL"; exit 1; }
    exec 3<>"$CHANNEL"
    exec 0<"$CHANNEL"
    local hello
    if ! read -r -t 10 hello || [ "$hello" != HELLO ]; then
        log "the agent did not open the channel within 10 s: exiting"
        exit 0
    fi
    exec 3>&-
}

# the pipe and the PID file go with this process, unless a newer fence has taken the names over
remove_channel() {
    [ -n "$CHANNEL" ] || return 0
    [ "$(head -c 32 -- "$PID_FILE" 2>/dev/null)" = "$$" ] || return 0
    rm -f -- "$CHANNEL" "$PID_FILE"
}

if [ -n "$CHANNEL" ]; then
    trap remove_channel EXIT
    open_channel
fi
log "started for $DATA_DIR"
while :; do
    if [ "$armed" = 1 ]; then
        read -r -t "$timeout_s" cmd arg
    else
        read -r cmd arg
    fi
    rc=$?
    if [ "$rc" -gt 128 ]; then
        fence "the agent did not renew the deadline in time"
        armed=0
        [ -z "$wdfd" ] || log "the watchdog $wddev is left unfed: the host is reset unless the agent renews in time"
        continue
    elif [ "$rc" -ne 0 ]; then
        if [ "$armed" = 1 ]; then
            fence "the agent's end of the channel closed (the agent died)"
            # no magic close: the kernel keeps counting and resets the host when the timeout passes
            [ -z "$wdfd" ] || log "exiting with the watchdog $wddev unfed and not closed: the host is reset when its timeout passes"
        else
            watchdog_close "the agent's end of the channel closed while disarmed"
            log "the agent's end of the channel closed; disarmed, PostgreSQL left as it is"
        fi
        exit 0
    fi
    case "$cmd" in
        ARM)
            case "$arg" in
                ''|*[!0-9]*) log "ignored a malformed command: ARM '$arg'"; continue ;;
            esac
            if [ "$arg" -le 0 ]; then
                fence "the agent armed with a deadline already passed"
                armed=0
                continue
            fi
            timeout_s=$(printf '%d.%03d' $((arg / 1000)) $((arg % 1000)))
            watchdog_feed
            armed=1
            ;;
        DISARM)
            armed=0
            watchdog_close "disarmed"
            ;;
        EXIT)
            watchdog_close "the agent is closing down"
            log "closed by the agent; PostgreSQL left as it is"
            exit 0
            ;;
        WATCHDOG)
            read -r seq dev <<< "$arg"
            case "$seq" in
                ''|*[!0-9]*) log "ignored a malformed command: WATCHDOG '$arg'"; continue ;;
            esac
            watchdog_open "$seq" "$dev"
            ;;
        WATCHDOG_TIMEOUT)
            case "$arg" in
                ''|*[!0-9]*) log "ignored a malformed command: WATCHDOG_TIMEOUT '$arg'"; continue ;;
            esac
            if [ -n "$wdfd" ]; then
                printf 'Ctimeout=%s\n' "$arg" >&"$wdfd" || log "could not write the timeout to the watchdog $wddev"
            fi
            ;;
        UNWATCH)
            watchdog_close "to change its timeout"
            ;;
        *)
            log "ignored an unknown command: '$cmd'"
            ;;
    esac
done
