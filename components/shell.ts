/** Pieces of the bash that remote scripts share: quoting, disks formatted once, fstab entries. */

/** A single-quoted shell word. */
export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Enables units for the next boot, and with `now` starts them. Without a manager
 * reload (the unit files are loaded already; steps that write unit files reload
 * first) and without Debian's SysV helper, which runs update-rc.d (Perl) for each
 * unit that also has an init script, for rc links systemd does not read: with ten
 * machines starting at once that took 2 s a call on a 2-core host, against 0.01 s.
 */
export const enableUnits = (units: string[], now = false) =>
    `SYSTEMCTL_SKIP_SYSV=1 systemctl enable --quiet --no-reload${now ? " --now" : ""} ${units.map(q).join(" ")}`;

/** The guest's name of a node's i-th extra disk: /dev/sdb, /dev/sdc, … (as the machine layer makes them). */
export const diskDevice = (i: number) => `/dev/sd${String.fromCharCode(98 + i)}`;

/**
 * Formats a disk with xfs only when it holds no filesystem at all: a re-run,
 * or a disk with data, is never formatted again; another filesystem stops the script.
 */
export function formatXfsOnce(dev: string, mkfsOptions = ""): string {
    const opts = mkfsOptions ? `${mkfsOptions} ` : "";
    return `fs=$(blkid -p -s TYPE -o value ${dev} || true); if [ -z "$fs" ]; then mkfs.xfs -q ${opts}${dev}; echo "formatted ${dev}"; elif [ "$fs" != xfs ]; then echo "${dev} holds $fs, not xfs: not touching it" >&2; exit 1; fi`;
}

/** Replaces any fstab entry for `mount` with `line` (runs `onChange` after a change). */
export function fstabSet(mount: string, line: string, onChange = ""): string {
    return `if ! grep -qxF ${q(line)} /etc/fstab; then awk -v m=${q(mount)} '$2 != m' /etc/fstab >/etc/fstab.thesis-new; echo ${q(line)} >>/etc/fstab.thesis-new; mv /etc/fstab.thesis-new /etc/fstab; ${onChange ? `${onChange}; ` : ""}systemctl daemon-reload; fi`;
}

/** Unmounts `mount` and drops its fstab entry. */
export function fstabRemove(mount: string): string {
    return `umount -l ${q(mount)} 2>/dev/null; awk -v m=${q(mount)} '$2 != m' /etc/fstab >/etc/fstab.thesis-new && mv /etc/fstab.thesis-new /etc/fstab`;
}
