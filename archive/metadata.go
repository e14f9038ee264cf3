package archive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
	spec "github.com/opencontainers/runtime-spec/specs-go"
)

// Metadata holds the runtime's JSON files, parsed. Fields are nil when the
// file is absent.
type Metadata struct {
	Config        *metadata.ContainerConfig        // config.dump
	Spec          *spec.Spec                       // spec.dump
	Status        *metadata.ContainerdStatus       // status (containerd)
	NetworkStatus *metadata.PodmanNetworkStatus    // network.status (Podman)
	Deleted       []string                         // deleted.files
	PodOptions    *metadata.CheckpointedPodOptions // pod.options
	// Descriptors is checkpoint/descriptors.json: what PID 1's stdio were.
	Descriptors []string
}

// isMetadataFile reports whether Load parses the file called name
// (relative to the container's part of the archive) as metadata.
func isMetadataFile(name string) bool {
	switch name {
	case metadata.ConfigDumpFile, metadata.SpecDumpFile, metadata.StatusFile,
		metadata.NetworkStatusFile, metadata.DeletedFilesFile,
		metadata.CheckpointDirectory + "/descriptors.json":
		return true
	}
	return false
}

// readJSON reads at most max bytes of r and decodes them into v.
func readJSON(r io.Reader, max int64, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > max {
		return fmt.Errorf("%w: larger than the %d-byte metadata limit", ErrTooLarge, max)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("%w: empty file", ErrBadMetadata)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMetadata, err)
	}
	return nil
}

// parseMetadata stores the JSON file called name (relative to the
// container's part of the archive) in m.
func (m *Metadata) parse(name string, r io.Reader, max int64) error {
	switch name {
	case metadata.ConfigDumpFile:
		m.Config = &metadata.ContainerConfig{}
		return readJSON(r, max, m.Config)
	case metadata.SpecDumpFile:
		m.Spec = &spec.Spec{}
		return readJSON(r, max, m.Spec)
	case metadata.StatusFile:
		m.Status = &metadata.ContainerdStatus{}
		return readJSON(r, max, m.Status)
	case metadata.NetworkStatusFile:
		// Podman writes "null" without a network.
		var ns metadata.PodmanNetworkStatus
		if err := readJSON(r, max, &ns); err != nil {
			return err
		}
		if ns != nil {
			m.NetworkStatus = &ns
		}
		return nil
	case metadata.DeletedFilesFile:
		return readJSON(r, max, &m.Deleted)
	case metadata.CheckpointDirectory + "/descriptors.json":
		return readJSON(r, max, &m.Descriptors)
	}
	return nil
}
