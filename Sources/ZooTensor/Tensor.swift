/// A dense Float32 tensor in row-major (NCHW for images) order.
///
/// `Tensor` is a value: copies share storage until one of them is written (copy-on-write,
/// through Swift's `Array`). Kernels reach the storage through the `withUnsafe…` accessors.
public struct Tensor: Equatable, CustomStringConvertible {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// A tensor of `shape` filled with `value`.
    public init(zeros shape: [Int], value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) elements, but \(scalars.count) were given")
        self.shape = shape
        self.scalars = scalars
    }

    /// A scalar (rank-0) tensor.
    public init(_ value: Float) {
        self.shape = []
        self.scalars = [value]
    }

    /// A tensor whose storage is written by `body` exactly once per element; no zero fill.
    public init(uninitialized shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            body(buffer)
            initialized = count
        }
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// The single value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor of shape \(shape)")
        return scalars[0]
    }

    /// The same elements under another shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var copy = self
        copy.shape = Tensor.resolve(newShape, count: count, from: shape)
        return copy
    }

    static func resolve(_ newShape: [Int], count: Int, from shape: [Int]) -> [Int] {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return resolved
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }

    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

extension Tensor {
    /// Elementwise map into a new tensor.
    @inlinable
    public func map(_ transform: (Float) -> Float) -> Tensor {
        Tensor(uninitialized: shape) { out in
            withUnsafeBufferPointer { x in
                for i in 0..<x.count { out[i] = transform(x[i]) }
            }
        }
    }

    /// Elementwise combination of two tensors of one shape.
    @inlinable
    public func zipMap(_ other: Tensor, _ combine: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        return Tensor(uninitialized: shape) { out in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { out[i] = combine(a[i], b[i]) }
                }
            }
        }
    }

    /// `self += other`, same shape.
    @inlinable
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "cannot add shape \(other.shape) into \(shape)")
        withUnsafeMutableBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, -) }
    public static func * (a: Tensor, b: Float) -> Tensor { a.map { $0 * b } }

    public var sum: Float { scalars.reduce(0, +) }
    public var maxAbs: Float { scalars.reduce(0) { max($0, abs($1)) } }
    public var allFinite: Bool { scalars.allSatisfy(\.isFinite) }
}
