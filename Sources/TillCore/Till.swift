/// Facts about this build of Till that every module may report.
public enum Till {
    /// The release version, printed by `till --version` and sent in `User-Agent`.
    public static let version = "0.1.0"
}
