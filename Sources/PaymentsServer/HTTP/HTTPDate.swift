// The `Date` header (RFC 9110 §6.6.1: an origin server with a clock must send one), rendered
// from integer seconds with no Foundation. The server renders it once per second and passes the
// cached line to `HTTPResponse` as `extraHeaders`.

public enum HTTPDate {
    /// `Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n` for a Unix time (`CLOCK_REALTIME` seconds).
    public static func headerLine(secondsSinceEpoch: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(37)
        HTTPASCII.append("Date: ", to: &out)
        appendIMFFixdate(secondsSinceEpoch: secondsSinceEpoch, to: &out)
        HTTPASCII.append("\r\n", to: &out)
        return out
    }

    /// IMF-fixdate, the only date format a sender may generate (RFC 9110 §5.6.7).
    public static func appendIMFFixdate(secondsSinceEpoch t: Int64, to out: inout [UInt8]) {
        let days = floorDiv(t, 86_400)
        let secondOfDay = Int(t - days * 86_400)
        let (year, month, day) = civil(fromDays: days)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        out.append(contentsOf: Array("SunMonTueWedThuFriSat".utf8)[(weekday * 3)..<(weekday * 3 + 3)])
        HTTPASCII.append(", ", to: &out)
        appendTwoDigits(day, to: &out)
        out.append(0x20)
        out.append(contentsOf: Array("JanFebMarAprMayJunJulAugSepOctNovDec".utf8)[((month - 1) * 3)..<(month * 3)])
        out.append(0x20)
        HTTPASCII.appendDecimal(Int(year), to: &out)
        out.append(0x20)
        appendTwoDigits(secondOfDay / 3600, to: &out)
        out.append(0x3A)
        appendTwoDigits(secondOfDay / 60 % 60, to: &out)
        out.append(0x3A)
        appendTwoDigits(secondOfDay % 60, to: &out)
        HTTPASCII.append(" GMT", to: &out)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    private static func appendTwoDigits(_ v: Int, to out: inout [UInt8]) {
        out.append(0x30 + UInt8(v / 10))
        out.append(0x30 + UInt8(v % 10))
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`, integers only).
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
