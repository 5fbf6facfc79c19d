"""An S3 client independent of oibus-rs (boto3, AWS's own SDK) for the object-storage tests.

  s3_tool.py create-bucket ENDPOINT BUCKET
  s3_tool.py dump ENDPOINT BUCKET [CA_FILE]

`dump` prints one JSON line per object: key, size, content type, SHA-256, and for `.json` and
`.csv` objects their content parsed (`values`: the JSON array, or the CSV rows as lists)."""

import csv
import hashlib
import io
import json
import sys

import boto3
from botocore.config import Config


def client(endpoint, ca_file=None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="oibus-test",
        aws_secret_access_key="oibus-test-secret",
        region_name="us-east-1",
        verify=ca_file if ca_file else True,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def main():
    command, endpoint, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
    s3 = client(endpoint, sys.argv[4] if len(sys.argv) > 4 else None)
    if command == "create-bucket":
        s3.create_bucket(Bucket=bucket)
        return
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            obj = s3.get_object(Bucket=bucket, Key=item["Key"])
            body = obj["Body"].read()
            line = {
                "key": item["Key"],
                "size": len(body),
                "content_type": obj.get("ContentType"),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
            if item["Key"].endswith(".json"):
                line["values"] = json.loads(body)
            elif item["Key"].endswith(".csv"):
                line["rows"] = list(csv.reader(io.StringIO(body.decode("utf-8"))))
            sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
