//! MS-DOS date and time (the zip entry's "last modified" fields) as the importers read them.
//!
//! zipimport turns them into seconds with the C library's `mktime` in local time, with
//! `tm_isdst = -1` (3.8+ `_parse_dostime` calls `time.mktime((y, m, d, H, M, S, -1, -1, -1))`,
//! 2.7–3.7 `parse_dostime` in `Modules/zipimport.c` calls `mktime` itself), so the same fields
//! give a different time under another `TZ`. Info-ZIP's `unzip` also reads them in local time
//! when the entry has no extended-timestamp field. We call the same `mktime`.

/// The fields of a DOS date and time, unnormalised (zero months and days occur in the wild;
/// `mktime` normalises them as CPython's call does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosTime {
    pub date: u16,
    pub time: u16,
}

impl DosTime {
    pub fn year(self) -> i32 {
        1980 + i32::from(self.date >> 9)
    }
    pub fn month(self) -> i32 {
        i32::from((self.date >> 5) & 0xF)
    }
    pub fn day(self) -> i32 {
        i32::from(self.date & 0x1F)
    }
    pub fn hour(self) -> i32 {
        i32::from(self.time >> 11)
    }
    pub fn minute(self) -> i32 {
        i32::from((self.time >> 5) & 0x3F)
    }
    pub fn second(self) -> i32 {
        i32::from(self.time & 0x1F) * 2
    }

    /// `YYYY-MM-DD HH:MM:SS` as stored (local time, no zone).
    pub fn display(self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year(),
            self.month(),
            self.day(),
            self.hour(),
            self.minute(),
            self.second()
        )
    }

    /// Seconds since the epoch, read in local time (`TZ`) exactly as `time.mktime` does, or
    /// `None` where `mktime` fails (CPython raises `OverflowError` there).
    pub fn local_epoch(self) -> Option<i64> {
        mktime(
            self.year(),
            self.month(),
            self.day(),
            self.hour(),
            self.minute(),
            self.second(),
        )
    }

    /// The DOS fields of a local time, as zip writers store it: seconds rounded down to even.
    pub fn from_local_epoch(secs: i64) -> Option<DosTime> {
        let (y, mo, d, h, mi, s) = localtime(secs)?;
        if !(1980..=2107).contains(&y) {
            return None;
        }
        Some(DosTime {
            date: (((y - 1980) as u16) << 9) | ((mo as u16) << 5) | d as u16,
            time: ((h as u16) << 11) | ((mi as u16) << 5) | (s as u16 / 2),
        })
    }
}

extern "C" {
    // POSIX; not in the libc crate for every target.
    fn tzset();
}

#[allow(clippy::useless_conversion)] // time_t is i64 here, i32 elsewhere
fn mktime(y: i32, mo: i32, d: i32, h: i32, mi: i32, s: i32) -> Option<i64> {
    // SAFETY: `tm` is a plain C struct fully initialised here (zeroed, then the fields that
    // mktime reads); `tzset` and `mktime` only read the environment and the zone files, and pyc
    // never modifies the environment while running.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = s;
        tm.tm_isdst = -1;
        tm.tm_wday = -1;
        tzset();
        let t = libc::mktime(&mut tm);
        // CPython's test for failure: -1 with tm_wday untouched.
        if t == -1 && tm.tm_wday == -1 {
            return None;
        }
        Some(i64::from(t))
    }
}

#[allow(clippy::useless_conversion)] // time_t is i64 here, i32 elsewhere
fn localtime(secs: i64) -> Option<(i32, i32, i32, i32, i32, i32)> {
    let t: libc::time_t = secs.try_into().ok()?;
    // SAFETY: `localtime_r` writes only into `tm`, which lives on this stack frame; see above
    // for the environment.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tzset();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        Some((
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        // 2026-12-06 20:31:58
        let t = DosTime {
            date: (46 << 9) | (12 << 5) | 6,
            time: (20 << 11) | (31 << 5) | 29,
        };
        assert_eq!(t.display(), "2026-12-06 20:31:58");
        assert_eq!(
            DosTime { date: 0, time: 0 }.display(),
            "1980-00-00 00:00:00"
        );
    }
}
