#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps secrets in memory out of crash output.
public enum ProcessHardening {
    /// Why hardening failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Turns core dumps off for this process and its children: the core size limit (soft
    /// and hard) becomes 0, and on Linux the process is marked not dumpable
    /// (`PR_SET_DUMPABLE` 0), which also keeps other processes of the same user from
    /// attaching to it or reading its memory through `/proc`. Call it first thing in the
    /// daemon and in `till keys`.
    public static func disableCoreDumps() throws(Failure) {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        #if os(Linux)
        let resource = Int32(RLIMIT_CORE.rawValue)
        #else
        let resource = RLIMIT_CORE
        #endif
        guard setrlimit(resource, &limit) == 0 else {
            throw Failure(description: "setrlimit(RLIMIT_CORE, 0) failed: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        guard let prctl = linuxPrctl else {
            throw Failure(description: "prctl is not available in this C library")
        }
        guard prctl(setDumpable, 0, 0, 0, 0) == 0 else {
            throw Failure(description: "prctl(PR_SET_DUMPABLE, 0) failed: \(String(cString: strerror(errno)))")
        }
        #endif
    }

    /// Whether core dumps are off: the core size limit is 0 and (on Linux) the process is
    /// not dumpable.
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        #if os(Linux)
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0, limit.rlim_cur == 0 else { return false }
        guard let prctl = linuxPrctl else { return false }
        return prctl(getDumpable, 0, 0, 0, 0) == 0
        #else
        return getrlimit(RLIMIT_CORE, &limit) == 0 && limit.rlim_cur == 0
        #endif
    }

    #if os(Linux)
    // <sys/prctl.h> is not part of Swift's Glibc module, and prctl is variadic, which Swift
    // cannot call. On Linux's x86-64 and AArch64 ABIs a variadic call with integer
    // arguments is passed exactly like this fixed five-argument one.
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let getDumpable: Int32 = 3  // PR_GET_DUMPABLE
    private static let setDumpable: Int32 = 4  // PR_SET_DUMPABLE

    private static var linuxPrctl: Prctl? {
        guard let symbol = dlsym(nil, "prctl") else { return nil }
        return unsafeBitCast(symbol, to: Prctl.self)
    }
    #endif
}
