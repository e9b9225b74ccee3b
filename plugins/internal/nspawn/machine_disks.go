package nspawn

// The machine's extra disks: sparse files on the host, attached as loop
// devices and seen by the guest as /dev/sdb, /dev/sdc, ...

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// deviceName is the guest's name of the i-th extra disk: /dev/sdb, /dev/sdc, …
func deviceName(i int) string { return "/dev/sd" + string(rune('b'+i)) }

func devices(a MachineArgs) []string {
	out := []string{}
	for i := range a.Disks {
		out = append(out, deviceName(i))
	}
	return out
}

func isMountPoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == path {
			return true, nil
		}
	}
	return false, sc.Err()
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// ensureDisks makes each extra disk's sparse file and loop device, and
// returns the loop devices in order.
func ensureDisks(ctx context.Context, a MachineArgs, dir string) ([]string, error) {
	var loops []string
	for i, d := range a.Disks {
		file := filepath.Join(dir, strings.TrimPrefix(deviceName(i), "/dev/")+".img")
		if !exists(file) {
			f, err := os.Create(file)
			if err != nil {
				return nil, err
			}
			err = f.Truncate(int64(d.SizeMb) << 20)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
		attached, err := loopsOf(ctx, file)
		if err != nil {
			return nil, err
		}
		if len(attached) > 0 {
			loops = append(loops, attached[0])
			continue
		}
		dev, err := run(ctx, "losetup", "--find", "--show", file)
		if err != nil {
			return nil, fmt.Errorf("disk %s: no loop device (%w); is the loop module loaded?", file, err)
		}
		loops = append(loops, dev)
	}
	return loops, nil
}

// loopsOf lists the loop devices attached to a file.
func loopsOf(ctx context.Context, file string) ([]string, error) {
	out, err := run(ctx, "losetup", "--noheadings", "--output", "NAME", "--associated", file)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}
