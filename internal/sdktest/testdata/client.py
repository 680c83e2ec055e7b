"""A small client of the generated Python SDK (gen/python), run by
TestPythonSDK with /usr/bin/python3 against a real gateway:

    PYTHONPATH=gen/python python3 client.py ADMIN_ADDR DATA_ADDR TOKEN CONNECTION_ID

It prints one JSON object with what it saw, for the Go test to check.
"""

import json
import sys

import grpc

from tollgate.admin.v1 import admin_service_pb2 as admin
from tollgate.admin.v1 import admin_service_pb2_grpc as admin_grpc
from tollgate.admin.v1 import keys_pb2
from tollgate.data.v1 import connections_pb2 as conns
from tollgate.data.v1 import connections_pb2_grpc as conns_grpc


def code_of(call):
    """Runs call and returns the name of the gRPC code it failed with."""
    try:
        call()
    except grpc.RpcError as err:
        return err.code().name
    return "no error"


def main(admin_addr, data_addr, token, connection_id):
    auth = [("authorization", "Bearer " + token)]
    out = {}
    with grpc.insecure_channel(admin_addr) as admin_ch, grpc.insecure_channel(data_addr) as data_ch:
        stub = admin_grpc.AdminServiceStub(admin_ch)
        key = stub.CreateApiKey(
            admin.CreateApiKeyRequest(
                api_key_id="from-python",
                api_key=keys_pb2.ApiKey(display_name="Python SDK", customer_id="cust-py"),
            ),
            metadata=auth,
            timeout=10,
        )
        out["keyName"] = key.name
        out["keyValueLength"] = len(key.value)
        apis = stub.ListApis(admin.ListApisRequest(), metadata=auth, timeout=10)
        out["apis"] = sorted(a.name for a in apis.apis)
        out["unauthenticated"] = code_of(lambda: stub.ListApis(admin.ListApisRequest(), timeout=10))

        data = conns_grpc.ConnectionsServiceStub(data_ch)
        conn = data.GetConnection(conns.GetConnectionRequest(connection_id=connection_id), metadata=auth, timeout=10)
        out["connectionStage"] = conn.stage
        data.PostToConnection(
            conns.PostToConnectionRequest(connection_id=connection_id, data=b"hello from python"),
            metadata=auth,
            timeout=10,
        )
        out["unknownConnection"] = code_of(
            lambda: data.GetConnection(
                conns.GetConnectionRequest(connection_id="no-such-connection"), metadata=auth, timeout=10
            )
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:5])
