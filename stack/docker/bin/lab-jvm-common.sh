# Sourced by /opt/lab/bin/kafka and /opt/lab/bin/connect.

die() { echo "$(basename "$0"): error: $*" >&2; exit 1; }

# render TEMPLATE OUT: replace each Jinja2 placeholder `{{ a.b }}` with the environment variable TPL_A_B
# (upper case, dots -> underscores). Strict like the lab's renderer (jinja2.StrictUndefined): a placeholder
# with no variable is an error. Only plain placeholders: `{% %}` blocks are refused, not guessed at.
render() {
    local src=$1 dst=$2 line name var n=0
    : >"$dst.tmp" || die "cannot write $dst"
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        [[ $line == *'{%'* ]] && die "$src:$n: Jinja2 blocks ({% %}) are not supported by the image's renderer"
        while [[ $line =~ \{\{[[:space:]]*([A-Za-z_][A-Za-z0-9_.]*)[[:space:]]*\}\} ]]; do
            name=${BASH_REMATCH[1]}
            var=TPL_${name//./_}; var=${var^^}
            [ -n "${!var+set}" ] || die "$src:$n: {{ $name }} has no value: set $var in the service's environment"
            line=${line//"${BASH_REMATCH[0]}"/"${!var}"}
        done
        printf '%s\n' "$line" >>"$dst.tmp"
    done <"$src"
    mv "$dst.tmp" "$dst"
}

# java_argv LIBDIR HEAP MAIN ARGS...: the command line of lab/components/jvm.py
java_argv() {
    local libdir=$1 heap=$2 main=$3; shift 3
    # shellcheck disable=SC2206  # LAB_JVM_FLAGS is a list of flags on purpose
    JAVA_ARGV=(java "-Xms$heap" "-Xmx$heap" $LAB_JVM_FLAGS "-Dlog4j2.configurationFile=/opt/lab/templates/log4j2.properties"
               -cp "$LAB_JVM_DIR/$libdir/*" "$main" "$@")
}
