package procmem

import (
	core_x86 "github.com/checkpoint-restore/go-criu/v8/crit/images/core-x86"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/vma"

	"github.com/ckpt-dev/ckpt/mem/elfcore"
)

type vmaEntry = vma.VmaEntry

func x86Regs(r *core_x86.UserX86RegsEntry) elfcore.X86Regs {
	return elfcore.X86Regs{
		R15: r.GetR15(), R14: r.GetR14(), R13: r.GetR13(), R12: r.GetR12(),
		Rbp: r.GetBp(), Rbx: r.GetBx(), R11: r.GetR11(), R10: r.GetR10(), R9: r.GetR9(), R8: r.GetR8(),
		Rax: r.GetAx(), Rcx: r.GetCx(), Rdx: r.GetDx(), Rsi: r.GetSi(), Rdi: r.GetDi(),
		OrigRax: r.GetOrigAx(), Rip: r.GetIp(), Cs: r.GetCs(), Eflags: r.GetFlags(), Rsp: r.GetSp(), Ss: r.GetSs(),
		FsBase: r.GetFsBase(), GsBase: r.GetGsBase(), Ds: r.GetDs(), Es: r.GetEs(), Fs: r.GetFs(), Gs: r.GetGs(),
	}
}

func fxsave(f *core_x86.UserX86FpregsEntry) elfcore.FXSave {
	x := elfcore.FXSave{
		Cwd: uint16(f.GetCwd()), Swd: uint16(f.GetSwd()), Twd: uint16(f.GetTwd()), Fop: uint16(f.GetFop()),
		Rip: f.GetRip(), Rdp: f.GetRdp(), Mxcsr: f.GetMxcsr(), MxcsrMask: f.GetMxcsrMask(),
	}
	copy(x.St[:], f.GetStSpace())
	copy(x.Xmm[:], f.GetXmmSpace())
	return x
}
