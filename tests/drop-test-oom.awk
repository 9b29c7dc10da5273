# Prints a kernel log without the OOM reports of a memory cgroup named
# uptr-test-*: a test that makes such a cgroup run out of memory expects
# its report, whose stack dump is no complaint (the test checks the
# cgroup's oom_kill count itself).  Any other OOM report stays.
# Used by tests/run and vm/run before they search the log for complaints.
/invoked oom-killer:/ {
	if (inblk)
		for (i = 0; i < n; i++)
			print buf[i]
	inblk = 1; mine = 0; n = 0
}
inblk {
	buf[n++] = $0
	if ($0 ~ /oom_memcg=\/uptr-test-/)
		mine = 1
	if ($0 ~ /[Oo]ut of memory: Killed process/) {
		if (!mine)
			for (i = 0; i < n; i++)
				print buf[i]
		inblk = 0
	}
	next
}
{ print }
END { if (inblk) for (i = 0; i < n; i++) print buf[i] }
