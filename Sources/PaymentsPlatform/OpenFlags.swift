import Glibc

/// `open(2)` flags by name, for modules that must not import Glibc themselves.
public enum OpenFlags {
    public static let readOnly = O_RDONLY
    public static let writeOnly = O_WRONLY
    public static let readWrite = O_RDWR
    public static let create = O_CREAT
    /// With `create`: fail if the file exists.
    public static let exclusive = O_EXCL
    public static let truncate = O_TRUNC
    public static let append = O_APPEND
    public static let directory = O_DIRECTORY
}
