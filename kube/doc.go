// Package kube triggers container checkpoints through the kubelet API and
// checks who and what can reach the archives it writes.
//
// A checkpoint goes either straight to a kubelet (POST
// /checkpoint/NS/POD/CONTAINER on its authenticated port) or through the
// API server's node proxy (POST /api/v1/nodes/NODE/proxy/checkpoint/…),
// and every failure comes back as an *Error of one Kind, with what the
// server said and what to do about it, because the kubelet's own answers
// (a bare 401, 403, 404 or 500) do not say which of several causes it was.
//
// The doctor checks look at a node (the checkpoint directory's modes, the
// storage under it, the kubelet's and the runtime's configuration) and at a
// cluster's RBAC (every subject that can create nodes/checkpoint or
// nodes/proxy, and the pods that mount the checkpoint directory).
package kube
