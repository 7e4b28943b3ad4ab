/// What a transition table says about an operation.
public enum Verdict: String, Hashable, Sendable, Codable {
    /// The state allows it; amount guards still apply.
    case allowed
    /// A duplicated or late event: it changes nothing and reports so.
    case ignored
    /// Refused, naming the state; changes nothing.
    case refused
}

/// A named condition on the thing a row is about, beyond its state: "a void is in flight",
/// "the dispute is at the inquiry stage". Named so that a table reads as sentences and a
/// refusal can say which condition it met.
public struct TransitionGuard<Subject>: Sendable {
    public let name: String
    private let test: @Sendable (Subject) -> Bool

    public init(_ name: String, _ test: @escaping @Sendable (Subject) -> Bool) {
        self.name = name
        self.test = test
    }

    public func holds(for subject: Subject) -> Bool { test(subject) }
}

/// One row of a state machine: an operation, the states it may start from, an optional
/// guard, the verdict, and where an allowed operation leads.
///
/// The same type carries every machine in Till (payments, disputes, transaction
/// resolutions; invoices and subscriptions next), so each machine is read the same way.
public struct TransitionRule<Subject, State: Hashable & Sendable, Operation: Hashable & Sendable>: Sendable {
    /// A short stable name, for refusals, logs and tests (`capture_while_void_in_flight`).
    public let name: String
    public let operation: Operation
    public let from: Set<State>
    /// When set, the row applies only to subjects the guard holds for.
    public let when: TransitionGuard<Subject>?
    public let verdict: Verdict
    /// Where an allowed operation may leave the subject once it settles. Ignored and
    /// refused rows lead nowhere: the subject stays as it was.
    public let to: Set<State>
    /// The reason code a refused row refuses with; `nil` means the machine's default
    /// ("not allowed in this state").
    public let refusal: String?
    /// Why the row is what it is.
    public let why: String

    private init(
        name: String, operation: Operation, from: Set<State>, when: TransitionGuard<Subject>?, verdict: Verdict,
        to: Set<State>, refusal: String?, why: String
    ) {
        self.name = name
        self.operation = operation
        self.from = from
        self.when = when
        self.verdict = verdict
        self.to = to
        self.refusal = refusal
        self.why = why
    }

    /// A row that lets `operation` run from `from`, leading to one of `to`.
    public static func allow(
        _ name: String, _ operation: Operation, from: Set<State>, to: Set<State>,
        when: TransitionGuard<Subject>? = nil, why: String
    ) -> Self {
        Self(name: name, operation: operation, from: from, when: when, verdict: .allowed, to: to, refusal: nil, why: why)
    }

    /// A row that answers `operation` from `from` with "nothing changed": a duplicate or a
    /// late event.
    public static func ignore(
        _ name: String, _ operation: Operation, from: Set<State>, when: TransitionGuard<Subject>? = nil, why: String
    ) -> Self {
        Self(name: name, operation: operation, from: from, when: when, verdict: .ignored, to: [], refusal: nil, why: why)
    }

    /// A row that refuses `operation` from `from`, with `code` when it is not the machine's
    /// default refusal.
    public static func refuse(
        _ name: String, _ operation: Operation, from: Set<State>, when: TransitionGuard<Subject>? = nil,
        code: String? = nil, why: String
    ) -> Self {
        Self(name: name, operation: operation, from: from, when: when, verdict: .refused, to: [], refusal: code, why: why)
    }

    /// Whether the row speaks for `operation` on `subject` in `state`.
    public func matches(_ operation: Operation, in state: State, subject: Subject) -> Bool {
        self.operation == operation && from.contains(state) && (when?.holds(for: subject) ?? true)
    }
}

/// A state machine as data: rows read top to bottom, the first that matches decides, and
/// an operation no row speaks for is refused. Refusing by default is the point: a new
/// operation or state is closed until someone writes the row that opens it.
public struct TransitionTable<Subject, State: Hashable & Sendable, Operation: Hashable & Sendable>: Sendable {
    public typealias Rule = TransitionRule<Subject, State, Operation>

    public let rules: [Rule]

    public init(_ rules: [Rule]) {
        self.rules = rules
    }

    /// The row that decides `operation` on `subject` in `state`; `nil` when none does, which
    /// is a refusal.
    public func rule(for operation: Operation, in state: State, subject: Subject) -> Rule? {
        rules.first { $0.matches(operation, in: state, subject: subject) }
    }

    public func verdict(for operation: Operation, in state: State, subject: Subject) -> Verdict {
        rule(for: operation, in: state, subject: subject)?.verdict ?? .refused
    }

    /// Every row for `operation`, in order.
    public func rules(for operation: Operation) -> [Rule] {
        rules.filter { $0.operation == operation }
    }

    /// Every operation some row speaks for.
    public var operations: Set<Operation> { Set(rules.map(\.operation)) }

    /// Every state a row starts from or leads to.
    public var states: Set<State> { rules.reduce(into: []) { $0.formUnion($1.from.union($1.to)) } }
}
