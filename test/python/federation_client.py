"""A Fed-PLoRA client in plain Python with grpcio, to prove the federation
server speaks standard gRPC: health check, GetRun, Join, FetchTask (polling
while told to wait), then SubmitResult with the assigned modules' slices of
the task's adapter (an untrained update). --corrupt breaks the update on
purpose so a test can watch the server refuse it.

The stubs are not generated here: run protoc on proto/fedplora/v1 and
proto/grpc/health/v1 into a folder and put that folder on PYTHONPATH.
Prints one JSON line; exits 0 when the result is accepted, 3 when the
submit is refused, 4 when no task came, 1 when an earlier call failed.
"""
import argparse
import array
import hashlib
import json
import pkgutil
import struct
import sys

import grpc

# The generated health stubs live in a package named grpc.health.v1, which
# the installed grpc package shadows; let grpc's package path also cover the
# generated folder on PYTHONPATH.
grpc.__path__ = pkgutil.extend_path(grpc.__path__, grpc.__name__)

from fedplora.v1 import federation_pb2 as pb  # noqa: E402
from fedplora.v1 import federation_pb2_grpc as pb_grpc  # noqa: E402
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

EXIT_ACCEPTED, EXIT_CALL_FAILED, EXIT_REFUSED, EXIT_NO_TASK = 0, 1, 3, 4
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def report(outcome, exit_code, **fields):
    print(json.dumps({"outcome": outcome, **fields}), flush=True)
    sys.exit(exit_code)


def rpc_failure(call, error, exit_code):
    report("refused" if exit_code == EXIT_REFUSED else "call_failed", exit_code,
           call=call, code=error.code().name, details=error.details())


def floats_le(raw):
    values = array.array("f")
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def bytes_le(values):
    out = array.array("f", values)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def parse_safetensors(message):
    """Tensors as (shape, flat float list) by name, and the JSON `meta` of __metadata__."""
    (header_len,) = struct.unpack_from("<Q", message, 0)
    header = json.loads(message[8:8 + header_len].decode("utf-8"))
    data = memoryview(message)[8 + header_len:]
    meta = json.loads(header.pop("__metadata__", {}).get("meta", "{}"))
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f'tensor "{name}" is {info["dtype"]}; this client reads F32 only')
        begin, end = info["data_offsets"]
        tensors[name] = (info["shape"], floats_le(data[begin:end]))
    return tensors, meta


def encode_safetensors(tensors, meta):
    header = {"__metadata__": {"meta": json.dumps(meta)}}
    blobs, offset = [], 0
    for name, (shape, values) in tensors.items():
        blob = bytes_le(values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(blobs)


def fed_plora_update(tensors, modules, corrupt):
    """A of each target: the assigned rows in the listed order; B: the assigned columns."""
    update = {}
    for name, (shape, values) in tensors.items():
        if name.endswith(".A"):
            _, width = shape
            rows = [values[j * width:(j + 1) * width] for j in modules]
            update[name] = ([len(modules), width], [x for row in rows for x in row])
        elif name.endswith(".B"):
            height, rank = shape
            update[name] = ([height, len(modules)], [values[o * rank + j] for o in range(height) for j in modules])
    first = next(iter(update))
    shape, values = update[first]
    if corrupt == "shape":
        update[first] = ([shape[0] + 1, shape[1]], values + values[:shape[1]])
    elif corrupt == "nan":
        values[0] = float("nan")
    meta_modules = list(modules)
    if corrupt == "modules":
        global_rank = next(shape for name, (shape, _) in tensors.items() if name.endswith(".A"))[0]
        meta_modules = [global_rank + k for k in range(len(modules))]
    return encode_safetensors(update, {"modules": meta_modules})


def fetch_task(stub, run_id, client_id, metadata, wait_seconds, max_polls):
    """The task header and its verified message, or (header, None) when told to wait too often or that the run is done."""
    for _ in range(max_polls):
        header, chunks = None, []
        request = pb.FetchTaskRequest(run_id=run_id, client_id=client_id, wait_seconds=wait_seconds)
        for reply in stub.FetchTask(request, metadata=metadata, timeout=wait_seconds + 30):
            if reply.WhichOneof("kind") == "header":
                header = reply.header
            else:
                chunks.append(reply.chunk)
        if header is None:
            raise ValueError("FetchTask ended without a TaskHeader")
        if header.status == pb.TASK_STATUS_WAIT:
            continue
        if header.status != pb.TASK_STATUS_TASK:
            return header, None
        message = b"".join(chunks)
        if len(message) != header.total_bytes or hashlib.sha256(message).hexdigest() != header.sha256:
            raise ValueError(f"the task message has {len(message)} bytes and another sha256 than its header declares")
        return header, message
    return header, None


def submit(stub, run, task, client_id, update, metadata):
    def requests():
        yield pb.SubmitResultRequest(header=pb.ResultHeader(
            run_id=run.run_id, round=task.round, client_id=client_id, total_bytes=len(update),
            sha256=hashlib.sha256(update).hexdigest(), train_loss=0.0, train_seconds=0.0,
            trainable_parameters=(len(update) // 4)))
        for start in range(0, len(update), run.chunk_bytes):
            yield pb.SubmitResultRequest(chunk=update[start:start + run.chunk_bytes])
    return stub.SubmitResult(requests(), metadata=metadata, timeout=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="host:port of the federation server (an http:// or https:// prefix is dropped)")
    parser.add_argument("--token", required=True)
    parser.add_argument("--client-id", type=int, required=True)
    parser.add_argument("--tls-ca", help="PEM file of the CA that signed the server's certificate; without it the channel is plaintext h2c")
    parser.add_argument("--corrupt", choices=["none", "shape", "nan", "modules"], default="none")
    parser.add_argument("--wait-seconds", type=int, default=2)
    parser.add_argument("--max-polls", type=int, default=30)
    args = parser.parse_args()

    target = args.url.split("://", 1)[-1]
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
    if args.tls_ca:
        with open(args.tls_ca, "rb") as f:
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()), options)
    else:
        channel = grpc.insecure_channel(target, options)
    metadata = (("authorization", f"Bearer {args.token}"),)
    stub = pb_grpc.FederationServiceStub(channel)

    call = "Health.Check"
    try:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        serving = health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)
        call = "GetRun"
        run = stub.GetRun(pb.GetRunRequest(client_id=args.client_id), metadata=metadata, timeout=10)
        call = "Join"
        joined = stub.Join(pb.JoinRequest(run_id=run.run_id, client_id=args.client_id, rank=0, num_examples=1,
                                          model_fingerprint=run.model_fingerprint), metadata=metadata, timeout=10)
        call = "FetchTask"
        task, message = fetch_task(stub, run.run_id, args.client_id, metadata, args.wait_seconds, args.max_polls)
    except grpc.RpcError as error:
        rpc_failure(call, error, EXIT_CALL_FAILED)
    if message is None:
        status = pb.TaskStatus.Name(task.status) if task is not None else "none"
        report("no_task", EXIT_NO_TASK, status=status, health=serving)

    tensors, meta = parse_safetensors(message)
    modules = meta["modules"]
    update = fed_plora_update(tensors, modules, args.corrupt)
    try:
        reply = submit(stub, run, task, args.client_id, update, metadata)
    except grpc.RpcError as error:
        rpc_failure("SubmitResult", error, EXIT_REFUSED)
    fields = dict(health=serving, rank=joined.rank, round=reply.round, modules=modules, bytes=len(update), message=reply.message)
    report("accepted" if reply.accepted else "refused", EXIT_ACCEPTED if reply.accepted else EXIT_REFUSED, **fields)


if __name__ == "__main__":
    main()
