// Package render prints the values commands build: JSON for machines, plain
// tables and trees for people. Commands never format output by hand, so the
// two views of one value cannot drift apart.
package render
