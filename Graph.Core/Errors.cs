namespace Graph.Core;

/// <summary>Base class of the errors Graph raises for bad graphs, feeds or state.</summary>
public class GraphException : Exception
{
    /// <summary>Creates the error with its message.</summary>
    public GraphException(string message) : base(message) { }

    /// <summary>Creates the error with its message and cause.</summary>
    public GraphException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>An op received arguments of the wrong shape, dtype or value (TF's InvalidArgumentError).</summary>
public class InvalidArgumentException : GraphException
{
    /// <summary>Creates the error with its message.</summary>
    public InvalidArgumentException(string message) : base(message) { }
}

/// <summary>The session's state does not allow the run, e.g. an uninitialised variable (TF's FailedPreconditionError).</summary>
public class FailedPreconditionException : GraphException
{
    /// <summary>Creates the error with its message.</summary>
    public FailedPreconditionException(string message) : base(message) { }
}

/// <summary>A device ran out of memory, or a run would exceed the configured memory limit (TF's ResourceExhaustedError).</summary>
public class ResourceExhaustedException : GraphException
{
    /// <summary>Creates the error with its message.</summary>
    public ResourceExhaustedException(string message) : base(message) { }

    /// <summary>Creates the error with its message and cause (e.g. the runtime's <see cref="OutOfMemoryException"/>).</summary>
    public ResourceExhaustedException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A device failed in a way the graph did not cause, e.g. a kernel that would not compile (TF's InternalError).</summary>
public class InternalException : GraphException
{
    /// <summary>Creates the error with its message and cause.</summary>
    public InternalException(string message, Exception? inner = null) : base(message, inner) { }
}
