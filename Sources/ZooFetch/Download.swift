import CCurl
import Foundation
import ZooTensor

/// How far a download has come: bytes of the whole file (counting what an earlier, interrupted
/// download left), the file's size when the server says it, and the time since it started.
public struct FetchProgress {
    public var bytes: Int64
    public var total: Int64?
    /// Bytes received by this download (not counting what was resumed).
    public var received: Int64
    public var seconds: Double
    /// Set on the last call of a download, whether it succeeded or not.
    public var finished = false
}

/// One URL into one file through libcurl (HTTP, HTTPS, file://): appended to what the file
/// already holds with a Range request, and resumed the same way when the connection breaks.
struct Download {
    let url: String
    let destination: String
    var progress: ((FetchProgress) -> Void)?
    /// Attempts after the first when the connection breaks with bytes received.
    var retries = 5

    /// The outcome: the SHA-256 the server published for the file (Hugging Face's
    /// X-Linked-Etag, or an ETag of 64 hex digits), if any.
    struct Result { var publishedDigest: String? }

    /// A failed transfer: what went wrong, as the end of a sentence ("the server answered 404 (Not Found)").
    struct Failure: Error { var reason: String }

    static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    func run() throws -> Result {
        guard Download.initialised else { throw Failure(reason: "libcurl could not be initialised") }
        var attempt = 0
        let start = Date()
        defer { progress?(FetchProgress(bytes: Download.size(of: destination), total: nil, received: 0, seconds: 0, finished: true)) }
        while true {
            let already = Download.size(of: destination)
            let transfer = Transfer(destination: destination, offset: already, start: start, progress: progress)
            let outcome = try transfer.run(url: url)
            switch outcome {
            case .done:
                return Result(publishedDigest: transfer.publishedDigest)
            case .rangeRefused:
                // The server sent the whole file instead of the rest: start again from nothing.
                guard already > 0 else { throw Failure(reason: "the server refused the request") }
                truncate(destination, 0)
            case .broken(let reason):
                attempt += 1
                if attempt > retries || transfer.received == 0 { throw Failure(reason: reason) }
            }
        }
    }

    static func size(of path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}

/// One libcurl transfer appending to the destination from `offset`.
private final class Transfer {
    enum Outcome { case done, rangeRefused, broken(String) }

    let destination: String
    let offset: Int64
    let start: Date
    let progress: ((FetchProgress) -> Void)?
    var received: Int64 = 0
    var writeError: String?
    var publishedDigest: String?
    /// The last status line's code and reason ("404 Not Found").
    var statusLine: String?
    var descriptor: Int32 = -1
    var lastReport = Date.distantPast

    init(destination: String, offset: Int64, start: Date, progress: ((FetchProgress) -> Void)?) {
        (self.destination, self.offset, self.start, self.progress) = (destination, offset, start, progress)
    }

    func run(url: String) throws -> Outcome {
        descriptor = open(destination, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ZooError("cannot write '\(destination)': \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard let curl = curl_easy_init() else { throw Download.Failure(reason: "libcurl could not start a transfer") }
        defer { curl_easy_cleanup(curl) }
        var errorText = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let code: CURLcode = errorText.withUnsafeMutableBufferPointer { errorBuffer in
            zoo_curl_set_string(curl, CURLOPT_URL, url)
            zoo_curl_set_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer.baseAddress)
            zoo_curl_set_long(curl, CURLOPT_FOLLOWLOCATION, 1)
            zoo_curl_set_long(curl, CURLOPT_FAILONERROR, 1)
            zoo_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT, 30)
            // A transfer that stalls (under 1 byte/s for a minute) is a broken one.
            zoo_curl_set_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
            zoo_curl_set_long(curl, CURLOPT_LOW_SPEED_TIME, 60)
            zoo_curl_set_string(curl, CURLOPT_USERAGENT, "ConvZoo")
            if offset > 0 { zoo_curl_set_offset(curl, CURLOPT_RESUME_FROM_LARGE, curl_off_t(offset)) }
            zoo_curl_set_pointer(curl, CURLOPT_WRITEDATA, context)
            zoo_curl_set_data_callback(curl, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
                return transfer.write(data!, size * count) ? size * count : 0
            }
            zoo_curl_set_pointer(curl, CURLOPT_HEADERDATA, context)
            zoo_curl_set_data_callback(curl, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
                transfer.header(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
                return size * count
            }
            if progress != nil {
                zoo_curl_set_long(curl, CURLOPT_NOPROGRESS, 0)
                zoo_curl_set_pointer(curl, CURLOPT_XFERINFODATA, context)
                zoo_curl_set_progress_callback(curl) { context, total, now, _, _ in
                    Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().report(total: Int64(total), now: Int64(now))
                    return 0
                }
            }
            return curl_easy_perform(curl)
        }
        var status = 0
        zoo_curl_get_long(curl, CURLINFO_RESPONSE_CODE, &status)
        if code == CURLE_OK { return .done }
        if let writeError { throw ZooError("cannot write '\(destination)': \(writeError)") }
        let detail = String(cString: errorText).trimmingCharacters(in: .whitespacesAndNewlines)
        switch code {
        case CURLE_HTTP_RETURNED_ERROR:
            throw Download.Failure(reason: "the server answered \(statusLine ?? String(status))")
        case CURLE_RANGE_ERROR:
            return .rangeRefused
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING:
            return .broken(detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        default:
            throw Download.Failure(reason: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
    }

    func write(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Bool {
        var done = 0
        while done < count {
            let written = Foundation.write(descriptor, data + done, count - done)
            if written < 0 {
                if errno == EINTR { continue }
                writeError = String(cString: strerror(errno))
                return false
            }
            done += written
        }
        received += Int64(count)
        return true
    }

    func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            statusLine = line.split(separator: " ", maxSplits: 1).dropFirst().first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            return
        }
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return }
        let name = parts[0].lowercased()
        let value = parts[1].trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
        let isDigest = value.count == 64 && value.allSatisfy { $0.isHexDigit }
        if isDigest && name == "x-linked-etag" { publishedDigest = value }
        if isDigest && name == "etag" && publishedDigest == nil { publishedDigest = value }
    }

    func report(total: Int64, now: Int64) {
        let time = Date()
        guard time.timeIntervalSince(lastReport) >= 0.1 else { return }
        lastReport = time
        progress?(FetchProgress(bytes: offset + received, total: total > 0 ? offset + total : nil, received: received,
                                seconds: time.timeIntervalSince(start)))
    }
}
