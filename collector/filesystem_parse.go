package collector

import (
	"strings"

	"github.com/prometheus/procfs"
)

// unescapeMountinfo undoes the octal escapes the kernel writes into mountinfo's mount point, source and type
// fields (seq_path and mangle in fs/proc_namespace.c: space \040, tab \011, newline \012, backslash \134), which
// procfs leaves in place. A backslash not followed by three octal digits of a byte value is kept as it is.
func unescapeMountinfo(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b = append(b, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// filesystemLabel makes a mountinfo field a label value: invalid UTF-8 (a mount point is any bytes but NUL) is
// replaced by U+FFFD, as node_exporter does, so that the exposition stays valid. Newlines, quotes and backslashes
// the exposition escapes itself.
func filesystemLabel(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// stripRootfs returns the mount point as the host sees it when the host's root is mounted at rootfs: a mount
// point at or under rootfs loses that prefix (/host/home becomes /home, /host becomes /), as node_exporter's
// --path.rootfs does, but only at a path boundary (/hostile stays /hostile). Others are kept as they are.
func stripRootfs(rootfs, point string) string {
	if rootfs == "" || rootfs == "/" {
		return point
	}
	rootfs = strings.TrimRight(rootfs, "/")
	switch {
	case point == rootfs:
		return "/"
	case strings.HasPrefix(point, rootfs) && point[len(rootfs)] == '/':
		return point[len(rootfs):]
	}
	return point
}

// rootfsPath returns the path at which the mount point (as stripRootfs returns it) is reached from the exporter:
// under rootfs.
func rootfsPath(rootfs, point string) string {
	if rootfs == "" || rootfs == "/" {
		return point
	}
	rootfs = strings.TrimRight(rootfs, "/")
	if point == "/" {
		return rootfs
	}
	return rootfs + point
}

// mountReadOnly reports whether mountinfo says the mount is read-only: the mount's own ro option, or the
// superblock's ro or emergency_ro (ext4 after an error), as node_exporter reads them. In the exporter's own mount
// table (ownNamespace: pid 1's is hidden) the mount's option is left out: there it is the sandbox's (systemd's
// ProtectSystem= remounts everything read-only) or a container's read-only bind, not the filesystem's.
func mountReadOnly(mi *procfs.MountInfo, ownNamespace bool) bool {
	_, ro := mi.Options["ro"]
	_, superRO := mi.SuperOptions["ro"]
	_, emergency := mi.SuperOptions["emergency_ro"]
	return ro && !ownNamespace || superRO || emergency
}
