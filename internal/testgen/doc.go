// Package testgen writes synthetic container checkpoint archives: format-valid
// CRIU 4.2 images in the layout CRI-O (the kubelet), containerd or Podman
// give them, holding any number of processes and any amount of memory.
//
// Real archives are the only honest test input, but they are few, small
// and change every time they are regenerated. Tests and benchmarks need
// archives whose every fact is known in advance (which pid has which
// thread, where a planted string sits in which pages image) and sizes in
// gigabytes. The images are modeled on the real CRIU 4.2 dumps in
// testdata/fixtures: the same image set, the same field choices (pagemap
// nr_pages in field 5 with compat_nr_pages 0, comm of worker threads in
// thread_core, argv and environment at the top of the stack VMA), the same
// member order per engine.
//
// Write streams the archive: memory pages are generated as they are
// written, so a 4 GiB archive costs a few MiB of memory. Everything is a
// function of the Spec, so the same Spec always gives the same bytes.
//
// The Break field makes deliberately broken archives for the tests of
// readers: an omitted image, a corrupt length prefix, a pagemap that points
// past its pages image, overlapping pagemap entries, unsorted members.
package testgen
