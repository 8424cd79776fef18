//go:build tools

// Package tools names the command the lab builds, so `go mod tidy` keeps its dependencies.
package tools

import _ "k8s.io/kubernetes/cmd/kubeadm"
