# shellcheck shell=bash
# free_ports N: N distinct TCP ports that nothing listens on, drawn at random
# below the kernel's ephemeral range (so no outgoing connection takes one
# between now and the moment the stack binds it). Used by run-tests and bench.
free_ports() {
	local want=$1 lo=20000 hi=60000 eph_lo _ p got=() tries
	if read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && ((eph_lo - lo >= 2000)); then
		hi=$((eph_lo - 1))
	fi
	for ((tries = 0; ${#got[@]} < want; tries++)); do
		if ((tries >= 1000)); then
			printf 'could not find %d free TCP ports in %d-%d\n' "$want" "$lo" "$hi" >&2
			return 1
		fi
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		[[ " ${got[*]} " == *" $p "* ]] && continue
		[[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]] && continue
		got+=("$p")
	done
	printf '%s\n' "${got[@]}"
}
