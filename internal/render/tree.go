package render

import (
	"fmt"
	"io"
)

// Node is one line of a tree and the nodes below it.
type Node struct {
	Text     string
	Children []*Node
}

// Tree writes the nodes with box-drawing branches, as tree(1) does.
func Tree(w io.Writer, roots []*Node) error {
	for _, n := range roots {
		if _, err := fmt.Fprintln(w, Escape(n.Text)); err != nil {
			return err
		}
		if err := treeChildren(w, n.Children, ""); err != nil {
			return err
		}
	}
	return nil
}

func treeChildren(w io.Writer, nodes []*Node, prefix string) error {
	for i, n := range nodes {
		branch, next := "├── ", "│   "
		if i == len(nodes)-1 {
			branch, next = "└── ", "    "
		}
		if _, err := fmt.Fprintf(w, "%s%s%s\n", prefix, branch, Escape(n.Text)); err != nil {
			return err
		}
		if err := treeChildren(w, n.Children, prefix+next); err != nil {
			return err
		}
	}
	return nil
}
