import Foundation
import ZooTensor

/// A value built by the restricted unpickler.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list([PickleValue])
    case dict([(key: PickleValue, value: PickleValue)])
    /// An allowed global (a reconstruction function or a storage type), not yet called.
    case global(String)
    /// A persistent id resolved by the caller (a tensor storage).
    case storage(StorageReference)
    /// A tensor view of a storage.
    case tensor(TensorReference)

    var text: String? { if case .string(let s) = self { return s }; return nil }
    var integer: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    var items: [PickleValue]? {
        switch self {
        case .tuple(let v), .list(let v): return v
        default: return nil
        }
    }
}

struct StorageReference {
    var key: String
    var dtype: String
    var count: Int
}

struct TensorReference {
    var storage: StorageReference
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// Runs a pickle program with only the operations and globals a PyTorch state_dict needs.
/// Any other global is refused by name before anything is called; nothing is executed.
struct RestrictedUnpickler {
    /// Storage classes by global name, with their safetensors-style dtype.
    static let storageTypes: [String: String] = [
        "torch.FloatStorage": "F32", "torch.HalfStorage": "F16", "torch.BFloat16Storage": "BF16",
        "torch.DoubleStorage": "F64", "torch.LongStorage": "I64", "torch.IntStorage": "I32",
        "torch.ByteStorage": "U8", "torch.ShortStorage": "I16", "torch.CharStorage": "I8", "torch.BoolStorage": "BOOL",
    ]
    static let functions: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
    ]
    static let maximumDepth = 1_000
    /// Containers inside containers: a state_dict needs about 5 levels.
    static let maximumNesting = 100
    static let maximumItems = 10_000_000

    let data: Data
    let name: String
    /// Turns a persistent id (a tuple naming a storage) into a storage reference.
    let persistentLoad: (PickleValue) throws -> PickleValue
    private(set) var position = 0

    init(_ data: Data, name: String, start: Int = 0, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.data = data
        self.name = name
        self.position = start
        self.persistentLoad = persistentLoad
    }

    func fail(_ why: String) -> ZooError { ZooError("'\(name)' cannot be loaded: its pickle \(why)") }

    mutating func byte() throws -> UInt8 {
        guard position < data.count else { throw fail("ends in the middle of an operation") }
        defer { position += 1 }
        return data[data.startIndex + position]
    }

    mutating func bytes(_ count: Int) throws -> Data {
        guard count >= 0, count <= data.count - position else { throw fail("claims \(count) bytes beyond its end") }
        defer { position += count }
        return data.subdata(in: data.startIndex + position ..< data.startIndex + position + count)
    }

    mutating func littleEndian(_ width: Int) throws -> Int {
        let raw = try bytes(width)
        var value: UInt64 = 0
        for (i, b) in raw.enumerated() { value |= UInt64(b) << UInt64(8 * i) }
        return width == 4 ? Int(Int32(truncatingIfNeeded: value)) : Int(truncatingIfNeeded: value)
    }

    mutating func line() throws -> String {
        var result = Data()
        while true {
            let b = try byte()
            if b == 0x0A { break }
            result.append(b)
            if result.count > 256 { throw fail("has a global name longer than 256 bytes") }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Runs until STOP and returns the result.
    ///
    /// Every value on the stack carries its nesting depth, so a program that wraps a value in
    /// a million tuples is refused at depth `maximumNesting` (destroying such a value would
    /// otherwise recurse once per level and overflow the thread's stack).
    mutating func load() throws -> PickleValue {
        struct Entry { var value: PickleValue; var depth: Int }
        var stack: [Entry] = []
        var marks: [Int] = []
        var memo: [Int: Entry] = [:]
        let maximumNesting = Self.maximumNesting
        let fail = self.fail
        func push(_ value: PickleValue, depth: Int = 0) throws {
            guard depth <= maximumNesting else { throw fail("nests containers more than \(maximumNesting) deep") }
            stack.append(Entry(value: value, depth: depth))
        }
        /// A container of `items`: one level deeper than its deepest item.
        func push(container value: PickleValue, of items: [Entry], into depth: Int = 0) throws {
            try push(value, depth: max(depth, 1 + (items.map(\.depth).max() ?? 0)))
        }
        func pop() throws -> Entry {
            guard let top = stack.popLast() else { throw fail("pops an empty stack") }
            return top
        }
        func popMark() throws -> [Entry] {
            guard let mark = marks.popLast(), mark <= stack.count else { throw fail("has no matching mark") }
            defer { stack.removeSubrange(mark...) }
            return Array(stack[mark...])
        }
        func checkSize(_ n: Int) throws { if n > Self.maximumItems { throw fail("holds more than \(Self.maximumItems) items") } }

        while true {
            let opcode = try byte()
            if stack.count > Self.maximumItems || marks.count > Self.maximumDepth || memo.count > Self.maximumItems { throw fail("nests too deeply") }
            switch opcode {
            case 0x80: _ = try byte()                                  // PROTO
            case 0x95: _ = try bytes(8)                                // FRAME
            case 0x2E: return try pop().value                          // STOP
            case 0x28: marks.append(stack.count)                       // MARK
            case 0x7D: try push(.dict([]))                            // EMPTY_DICT
            case 0x5D: try push(.list([]))                            // EMPTY_LIST
            case 0x29: try push(.tuple([]))                           // EMPTY_TUPLE
            case 0x4E: try push(.none)                                // NONE
            case 0x88: try push(.bool(true))                          // NEWTRUE
            case 0x89: try push(.bool(false))                         // NEWFALSE
            case 0x4B: try push(.int(Int(try byte())))                // BININT1
            case 0x4D: try push(.int(try littleEndian(2)))            // BININT2
            case 0x4A: try push(.int(try littleEndian(4)))            // BININT
            case 0x8A, 0x8B:                                           // LONG1, LONG4
                let count = opcode == 0x8A ? Int(try byte()) : try littleEndian(4)
                guard count >= 0 && count <= 64 else { throw fail("has an integer wider than 512 bits") }
                let raw = try bytes(count)
                if count > 8 { try push(.bytes(raw)); continue }     // only PyTorch's magic number is this wide
                var value: UInt64 = 0
                for (i, b) in raw.enumerated() { value |= UInt64(b) << UInt64(8 * i) }
                if count > 0 && count < 8 && raw.last! & 0x80 != 0 { value |= ~UInt64(0) << UInt64(8 * count) }
                try push(.int(Int(truncatingIfNeeded: value)))
            case 0x47:                                                 // BINFLOAT (big-endian)
                let raw = try bytes(8)
                var bits: UInt64 = 0
                for b in raw { bits = bits << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58, 0x8C, 0x8D, 0x55, 0x54:                         // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINSTRING
                let count = opcode == 0x8C || opcode == 0x55 ? Int(try byte()) : try littleEndian(opcode == 0x8D ? 8 : 4)
                try push(.string(String(decoding: try bytes(count), as: UTF8.self)))
            case 0x42, 0x43:                                           // BINBYTES, SHORT_BINBYTES
                let count = opcode == 0x43 ? Int(try byte()) : try littleEndian(4)
                try push(.bytes(try bytes(count)))
            case 0x71: memo[Int(try byte())] = stack.last              // BINPUT
            case 0x72: memo[try littleEndian(4)] = stack.last          // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                   // MEMOIZE
            case 0x68, 0x6A:                                           // BINGET, LONG_BINGET
                let index = opcode == 0x68 ? Int(try byte()) : try littleEndian(4)
                guard let entry = memo[index] else { throw fail("reads memo slot \(index), which was never written") }
                stack.append(entry)
            case 0x63:                                                 // GLOBAL
                let module = try line(), attribute = try line()
                try push(try global(module + "." + attribute))
            case 0x93:                                                 // STACK_GLOBAL
                let attribute = try pop().value, module = try pop().value
                guard let m = module.text, let a = attribute.text else { throw fail("names a global that is not a string") }
                try push(try global(m + "." + a))
            case 0x51:                                                 // BINPERSID
                let id = try pop()
                try push(container: try persistentLoad(id.value), of: [id])
            case 0x74: let items = try popMark(); try push(container: .tuple(items.map(\.value)), of: items)     // TUPLE
            case 0x85: let a = try pop(); try push(container: .tuple([a.value]), of: [a])                        // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(container: .tuple([a.value, b.value]), of: [a, b])  // TUPLE2
            case 0x87:                                                 // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try push(container: .tuple([a.value, b.value, c.value]), of: [a, b, c])
            case 0x61, 0x65:                                           // APPEND, APPENDS
                let items = opcode == 0x61 ? [try pop()] : try popMark()
                let target = try pop()
                guard case .list(var list) = target.value else { throw fail("appends to something that is not a list") }
                list += items.map(\.value)
                try checkSize(list.count)
                try push(container: .list(list), of: items, into: target.depth)
            case 0x73, 0x75:                                           // SETITEM, SETITEMS
                var items: [Entry]
                if opcode == 0x73 { let v = try pop(), k = try pop(); items = [k, v] } else { items = try popMark() }
                guard items.count % 2 == 0 else { throw fail("sets a dictionary item without a value") }
                let target = try pop()
                guard case .dict(var dict) = target.value else { throw fail("sets items on something that is not a dictionary") }
                for i in stride(from: 0, to: items.count, by: 2) { dict.append((items[i].value, items[i + 1].value)) }
                try checkSize(dict.count)
                try push(container: .dict(dict), of: items, into: target.depth)
            case 0x52, 0x81:                                           // REDUCE, NEWOBJ
                let arguments = try pop(), callable = try pop()
                try push(container: try call(callable.value, arguments.value), of: [arguments])
            case 0x62:                                                 // BUILD: state on an object; a state_dict's _metadata
                _ = try pop()
            default:
                throw fail(String(format: "uses operation 0x%02X, which a state_dict does not need", opcode))
            }
        }
    }

    func global(_ qualified: String) throws -> PickleValue {
        guard Self.functions.contains(qualified) || Self.storageTypes[qualified] != nil else {
            throw fail("names the global '\(qualified)', which is not one of the reconstruction functions a state_dict needs; it was refused, not run")
        }
        return .global(qualified)
    }

    func call(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let function) = callable, let args = arguments.items else { throw fail("calls something that is not an allowed function") }
        switch function {
        case "collections.OrderedDict":
            return .dict([])
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard args.count >= 4, case .storage(let storage) = args[0], let offset = args[1].integer,
                  let shape = args[2].items?.compactMap(\.integer), let strides = args[3].items?.compactMap(\.integer),
                  shape.count == args[2].items?.count, strides.count == shape.count else {
                throw fail("rebuilds a tensor from malformed arguments")
            }
            return .tensor(TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter":
            guard let first = args.first, case .tensor = first else { throw fail("rebuilds a parameter from something that is not a tensor") }
            return first
        default:
            throw fail("calls '\(function)', which is not a function")
        }
    }
}
