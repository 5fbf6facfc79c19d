"""An Azure Blob client independent of oibus-rs (azure-storage-blob, Microsoft's own SDK) for
the object-storage tests, against Azurite's well-known development account.

  azure_tool.py create-container ENDPOINT CONTAINER
  azure_tool.py dump ENDPOINT CONTAINER

ENDPOINT: http://127.0.0.1:PORT/devstoreaccount1. `dump` prints one JSON line per blob: key,
size, content type, SHA-256, and for `.json` and `.csv` blobs their content parsed (`values`:
the JSON array, or `rows`: the CSV rows as lists)."""

import csv
import hashlib
import io
import json
import sys

from azure.storage.blob import BlobServiceClient

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def main():
    command, endpoint, container = sys.argv[1], sys.argv[2], sys.argv[3]
    service = BlobServiceClient(
        account_url=endpoint, credential={"account_name": ACCOUNT, "account_key": KEY}
    )
    if command == "create-container":
        service.create_container(container)
        return
    client = service.get_container_client(container)
    for blob in client.list_blobs():
        body = client.download_blob(blob.name).readall()
        line = {
            "key": blob.name,
            "size": len(body),
            "content_type": blob.content_settings.content_type,
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        if blob.name.endswith(".json"):
            line["values"] = json.loads(body)
        elif blob.name.endswith(".csv"):
            line["rows"] = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
