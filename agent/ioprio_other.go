//go:build !linux

package agent

func setIOPriority(string) error { return nil }
