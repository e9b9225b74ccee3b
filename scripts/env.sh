# Source this file (`. scripts/env.sh`) to run the project's `pulumi` commands by
# hand the way the scripts do: offline defaults and the generated passphrase.
# Settings already in the environment win.
export PULUMI_SKIP_UPDATE_CHECK=${PULUMI_SKIP_UPDATE_CHECK:-true}
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}
export PULUMI_HOME=${PULUMI_HOME:-$HOME/.pulumi}
case ":$PATH:" in *":$PULUMI_HOME/bin:"*) ;; *) export PATH="$PULUMI_HOME/bin:$PATH" ;; esac
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # Encrypts this machine's stack secrets; generated once, readable by you only.
  _pf=${XDG_CONFIG_HOME:-$HOME/.config}/thesis-cluster/passphrase
  if [ ! -s "$_pf" ]; then
    mkdir -p "$(dirname "$_pf")"
    (umask 077 && head -c 32 /dev/urandom | base64 >"$_pf")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE=$_pf
  unset _pf
fi
