package criu

// Names for the bit flags and enumerations CRIU's protos mark with
// (criu).flags and (criu).dict. These follow crit's pretty printer, so that
// our JSON reads like crit's and can be compared with it.

type flagBit struct {
	name string
	bit  uint64
}

func flagNames(set string) []flagBit {
	switch set {
	case "mmap.prot":
		return []flagBit{{"PROT_READ", 0x1}, {"PROT_WRITE", 0x2}, {"PROT_EXEC", 0x4}}
	case "mmap.flags":
		return []flagBit{{"MAP_SHARED", 0x1}, {"MAP_PRIVATE", 0x2}, {"MAP_DROPPABLE", 0x8}, {"MAP_ANON", 0x20}, {"MAP_GROWSDOWN", 0x100}}
	case "mmap.status":
		return []flagBit{
			{"VMA_AREA_NONE", 0}, {"VMA_AREA_REGULAR", 1 << 0}, {"VMA_AREA_STACK", 1 << 1},
			{"VMA_AREA_VSYSCALL", 1 << 2}, {"VMA_AREA_VDSO", 1 << 3}, {"VMA_AREA_HEAP", 1 << 5},
			{"VMA_FILE_PRIVATE", 1 << 6}, {"VMA_FILE_SHARED", 1 << 7}, {"VMA_ANON_SHARED", 1 << 8},
			{"VMA_ANON_PRIVATE", 1 << 9}, {"VMA_AREA_SYSVIPC", 1 << 10}, {"VMA_AREA_SOCKET", 1 << 11},
			{"VMA_AREA_VVAR", 1 << 12}, {"VMA_AREA_AIORING", 1 << 13}, {"VMA_AREA_MEMFD", 1 << 14},
			{"VMA_AREA_SHSTK", 1 << 15}, {"VMA_AREA_UPROBES", 1 << 17}, {"VMA_UNSUPP", 1 << 31},
		}
	case "rfile.flags":
		return []flagBit{
			{"O_WRONLY", 0o1}, {"O_RDWR", 0o2}, {"O_CREAT", 0o100}, {"O_EXCL", 0o200},
			{"O_NOCTTY", 0o400}, {"O_TRUNC", 0o1000}, {"O_APPEND", 0o2000}, {"O_NONBLOCK", 0o4000},
			{"O_DSYNC", 0o10000}, {"FASYNC", 0o20000}, {"O_DIRECT", 0o40000}, {"O_LARGEFILE", 0o100000},
			{"O_DIRECTORY", 0o200000}, {"O_NOFOLLOW", 0o400000}, {"O_NOATIME", 0o1000000}, {"O_CLOEXEC", 0o2000000},
		}
	case "pmap.flags":
		return []flagBit{{"PE_PARENT", 1 << 0}, {"PE_LAZY", 1 << 1}, {"PE_PRESENT", 1 << 2}}
	case "seals.flags":
		return []flagBit{{"F_SEAL_SEAL", 0x1}, {"F_SEAL_SHRINK", 0x2}, {"F_SEAL_GROW", 0x4}, {"F_SEAL_WRITE", 0x8}, {"F_SEAL_FUTURE_WRITE", 0x10}}
	}
	return nil
}

// dictName maps the values of fields marked (criu).dict: task states and
// socket constants.
func dictName(dict, field string, v uint64) (string, bool) {
	var names map[uint64]string
	switch dict + "." + field {
	case "gen.task_state":
		names = map[uint64]string{1: "Alive", 2: "Dead", 3: "Stopped", 6: "Zombie"}
	case "sk.family":
		names = map[uint64]string{1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET"}
	case "sk.type":
		names = map[uint64]string{1: "STREAM", 2: "DGRAM", 3: "RAW", 5: "SEQPACKET", 10: "PACKET"}
	case "sk.state":
		names = map[uint64]string{1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN"}
	case "sk.proto":
		names = map[uint64]string{0: "IP", 6: "TCP", 17: "UDP", 136: "UDPLITE"}
	}
	name, ok := names[v]
	return name, ok
}
