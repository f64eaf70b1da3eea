# embed.awk - turns the Redis scripts in lua/redis/ into C strings
# (src/redis_scripts.h, generated at build time), so the gateway carries
# the very files that are kept and reviewed as Lua.
#   awk -f embed.awk lua/redis/a.lua lua/redis/b.lua > redis_scripts.h
BEGIN {
    print "/* redis_scripts.h - generated from the files in lua/redis by contrib/embed.awk; do not edit. */"
}
FNR == 1 {
    if (NR != 1)
        print ";"
    name = FILENAME
    sub(/.*\//, "", name)
    sub(/\.lua$/, "", name)
    print "static const char redis_script_" name "[] ="
}
{
    line = $0
    gsub(/\\/, "\\\\", line)
    gsub(/"/, "\\\"", line)
    print "    \"" line "\\n\""
}
END {
    print ";"
}
