#!/usr/bin/env bash
# dfs-s3 with real S3 clients from Debian: awscli, boto3, rclone and s3cmd.
# Bucket and object life cycle; objects written by S3 read by dfs get and
# the reverse; ranged GETs; multipart uploads (awscli's own, of a 1 GiB
# file, and every multipart call through boto3); listing with delimiters and
# pages across 1,500 keys; presigned URLs (and their expiry); a wrong
# signature, an unknown key and another user's private object refused with
# S3's error codes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in aws rclone s3cmd /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (launch/test installs it)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import boto3' || { echo "needs python3-boto3" >&2; exit 1; }

start_cluster s3 --masters 3 --workers 3 --chunk-size 4M
PORT=$(( $(. "$RUN/cluster.env" && echo "$BASE_PORT") + 90 ))
ENDPOINT="http://127.0.0.1:$PORT"
CREDS="$RUN/s3/credentials"
AK="$(awk '!/^#/ && NF == 3 {print $1; exit}' "$CREDS")"
SK="$(awk '!/^#/ && NF == 3 {print $2; exit}' "$CREDS")"
export AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$WORK/aws.conf" AWS_SHARED_CREDENTIALS_FILE=/dev/null
# awscli's defaults otherwise: a file over 8 MiB goes up in 8 MiB parts, 10 at a time.
printf '[default]\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
# aws with the gateway's endpoint, as a program (checks run it in subshells).
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec /usr/bin/aws --endpoint-url "%s" "$@"\n' "$ENDPOINT" >"$WORK/bin/aws"
chmod +x "$WORK/bin/aws"
export PATH="$WORK/bin:$PATH"
# This machine's CA bundle setting is for HTTPS; rclone refuses it on plain HTTP.
unset AWS_CA_BUNDLE
py() { /usr/bin/python3 - "$ENDPOINT" "$AK" "$SK" "$@"; }
# s3_error DESCRIPTION CODE COMMAND...: the command fails and names S3's error CODE.
s3_error() {
  local what="$1" code="$2" err rc=0
  shift 2
  err="$("$@" 2>&1 >/dev/null)" || rc=$?
  if [ $rc -ne 0 ] && grep -qE "$code" <<<"$err"; then pass "$what"; else fail "$what (exit $rc: $err)"; fi
}

head -c 100000 /dev/urandom >"$WORK/small"
head -c $((9 << 20)) /dev/urandom >"$WORK/nine"  # 3 chunks of 4 MiB
: >"$WORK/empty"

# ---- awscli: buckets and objects ----
check "aws s3 mb makes a bucket" aws s3 mb s3://alpha
check "the bucket is a top-level directory in dfs" bash -c "'$DFS' stat /alpha | grep -q directory"
check "aws s3 ls lists it" bash -c "aws s3 ls | grep -q ' alpha\$'"
s3_error "a bucket that exists already" "BucketAlreadyOwnedByYou" aws s3api create-bucket --bucket alpha
check "aws s3 cp uploads a 9 MiB object (in two parts)" aws s3 cp --quiet "$WORK/nine" s3://alpha/dir/nine.bin
check "dfs get reads what S3 wrote" bash -c "'$DFS' get /alpha/dir/nine.bin '$WORK/got' && cmp '$WORK/got' '$WORK/nine'"
check "aws s3 cp downloads it" bash -c "aws s3 cp --quiet s3://alpha/dir/nine.bin '$WORK/down' && cmp '$WORK/down' '$WORK/nine'"
# multipart_etag FILE PART_BYTES: the ETag S3 gives FILE uploaded in parts of PART_BYTES.
multipart_etag() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import hashlib, sys
digests = []
with open(sys.argv[1], "rb") as f:
    while piece := f.read(int(sys.argv[2])):
        digests.append(hashlib.md5(piece).digest())
print('"%s-%d"' % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests)))
EOF
}
etag_of() { aws s3api head-object --bucket "$1" --key "$2" --query ETag --output text; }
check "its ETag is S3's multipart form (the MD5 of the parts' MD5s, then -2)" bash -c "
  $(declare -f etag_of multipart_etag); [ \"\$(etag_of alpha dir/nine.bin)\" = \"\$(multipart_etag '$WORK/nine' 8388608)\" ]"
check "a single PUT's ETag is the MD5 of its bytes" bash -c "
  $(declare -f etag_of); aws s3api put-object --bucket alpha --key one-put --body '$WORK/nine' >/dev/null &&
  [ \"\$(etag_of alpha one-put)\" = \"\\\"\$(md5sum <'$WORK/nine' | cut -d' ' -f1)\\\"\" ]"
s3_error "an unserved sub-resource (?acl) is NotImplemented" "NotImplemented" \
  aws s3api put-object-acl --bucket alpha --key dir/nine.bin --acl public-read
check "and the object is untouched" bash -c "
  aws s3 cp --quiet s3://alpha/dir/nine.bin '$WORK/down2' && cmp '$WORK/down2' '$WORK/nine'"
# awscli splits a large file into parts by itself: 1 GiB (96 MiB under
# the sanitizers, whose slowdown would make 1 GiB take most of CI).
BIG_MIB=1024
sanitized && BIG_MIB=96
head -c $((BIG_MIB << 20)) /dev/urandom >"$WORK/big"
check "aws s3 cp uploads $BIG_MIB MiB as a multipart upload" aws s3 cp --only-show-errors "$WORK/big" s3://alpha/big.bin
check "its ETag names $((BIG_MIB / 8)) parts, with their MD5s" bash -c "
  $(declare -f etag_of multipart_etag); [ \"\$(etag_of alpha big.bin)\" = \"\$(multipart_etag '$WORK/big' 8388608)\" ]"
check "dfs get reads the parts back as one file" bash -c "
  '$DFS' get /alpha/big.bin '$WORK/big.get' && cmp '$WORK/big.get' '$WORK/big' && rm '$WORK/big.get'"
check "aws s3 cp downloads it (ranged GETs in parallel)" bash -c "
  aws s3 cp --quiet s3://alpha/big.bin '$WORK/big.down' && cmp '$WORK/big.down' '$WORK/big' && rm '$WORK/big.down'"
check "no multipart upload is left in progress" bash -c "
  [ \"\$(aws s3api list-multipart-uploads --bucket alpha --query 'length(Uploads || \`[]\`)')\" = 0 ]"
aws s3 rm --quiet s3://alpha/big.bin
rm -f "$WORK/big"
check "an empty object round-trips" bash -c "aws s3 cp --quiet '$WORK/empty' s3://alpha/empty && aws s3 cp --quiet s3://alpha/empty '$WORK/e2' && [ ! -s '$WORK/e2' ]"
"$DFS" put -q "$WORK/small" /alpha/from-dfs
check "an object dfs put wrote reads through S3" \
  bash -c "aws s3 cp --quiet s3://alpha/from-dfs '$WORK/fd' && cmp '$WORK/fd' '$WORK/small'"
check "a ranged GET returns those bytes" bash -c "
  aws s3api get-object --bucket alpha --key dir/nine.bin --range bytes=4194000-4194999 '$WORK/r' >/dev/null &&
  cmp '$WORK/r' <(tail -c +4194001 '$WORK/nine' | head -c 1000)"
check "a suffix range returns the end" bash -c "
  aws s3api get-object --bucket alpha --key dir/nine.bin --range bytes=-100 '$WORK/r' >/dev/null &&
  cmp '$WORK/r' <(tail -c 100 '$WORK/nine')"
s3_error "a range past the end is InvalidRange" "InvalidRange" \
  aws s3api get-object --bucket alpha --key dir/nine.bin --range bytes=99999999- "$WORK/r"
s3_error "a missing key is NoSuchKey" "NoSuchKey" \
  aws s3api get-object --bucket alpha --key nope "$WORK/r"
s3_error "a missing bucket is NoSuchBucket" "NoSuchBucket" aws s3 ls s3://nosuchbucket
check "aws s3 ls of a prefix shows it as a directory" bash -c "aws s3 ls s3://alpha/ | grep -q 'PRE dir/'"
s3_error "a non-empty bucket is not removed" "BucketNotEmpty" aws s3 rb s3://alpha
check "aws s3 rm removes an object and the directories it leaves empty" bash -c "
  aws s3 rm --quiet s3://alpha/dir/nine.bin && ! '$DFS' stat /alpha/dir >/dev/null 2>&1"
check "aws s3 rb --force empties and removes a bucket" aws s3 rb --force s3://alpha
check "the bucket is gone from dfs" bash -c "! '$DFS' stat /alpha >/dev/null 2>&1"

# ---- boto3: listing across 1,500 keys, copy, multi-delete, presigned URLs ----
check "boto3 lists 1,500 keys by prefix and delimiter, page by page" py <<'EOF'
import sys, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
endpoint, ak, sk = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
s3.create_bucket(Bucket="beta")
keys = [f"logs/{d:02d}/{n:03d}.txt" for d in range(16) for n in range(90)]
keys += [f"top-{n:03d}" for n in range(60)] + ["a b+c%d.txt", "logs-x/z", "logs/zz"]
with ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda k: s3.put_object(Bucket="beta", Key=k, Body=k.encode()), keys))
assert len(keys) >= 1500, len(keys)
def walk(**kw):
    objs, prefixes, token = [], [], None
    while True:
        args = dict(Bucket="beta", MaxKeys=100, **kw)
        if token: args["ContinuationToken"] = token
        r = s3.list_objects_v2(**args)
        objs += [o["Key"] for o in r.get("Contents", [])]
        prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        assert r["KeyCount"] <= 100
        if not r["IsTruncated"]: return objs, prefixes
        token = r["NextContinuationToken"]
objs, prefixes = walk()
assert objs == sorted(keys), "a full listing is every key once, in byte order"
objs, prefixes = walk(Delimiter="/")
assert prefixes == ["logs-x/", "logs/"], prefixes
assert objs == sorted(k for k in keys if "/" not in k), objs
objs, prefixes = walk(Prefix="logs/", Delimiter="/")
assert prefixes == [f"logs/{d:02d}/" for d in range(16)], prefixes
assert objs == ["logs/zz"], objs
objs, _ = walk(Prefix="logs/07/")
assert objs == [f"logs/07/{n:03d}.txt" for n in range(90)]
# V1 (marker) paging too, as s3cmd and older tools use.
seen, marker = [], ""
while True:
    r = s3.list_objects(Bucket="beta", Prefix="logs/1", MaxKeys=70, Marker=marker)
    seen += [o["Key"] for o in r.get("Contents", [])]
    if not r["IsTruncated"]: break
    marker = seen[-1]
assert seen == sorted(k for k in keys if k.startswith("logs/1")), len(seen)
assert s3.get_object(Bucket="beta", Key="a b+c%d.txt")["Body"].read() == b"a b+c%d.txt"
EOF
check "boto3 copies an object, and deletes many at once" py <<'EOF'
import sys, boto3
endpoint, ak, sk = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1")
s3.copy_object(Bucket="beta", Key="copies/one", CopySource={"Bucket": "beta", "Key": "logs/03/004.txt"})
assert s3.get_object(Bucket="beta", Key="copies/one")["Body"].read() == b"logs/03/004.txt"
r = s3.delete_objects(Bucket="beta", Delete={"Objects": [{"Key": f"logs/00/{n:03d}.txt"} for n in range(90)]})
assert len(r["Deleted"]) == 90 and not r.get("Errors"), r
assert "Contents" not in s3.list_objects_v2(Bucket="beta", Prefix="logs/00/")
EOF
check "boto3 drives every multipart call: parts out of order and again, list, copy, complete, abort" py <<'EOF'
import hashlib, os, sys, boto3
from botocore.exceptions import ClientError
endpoint, ak, sk = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1")
def error(code, call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, (code, e.response["Error"])
        return
    raise AssertionError(f"{call.__name__} did not fail with {code}")
MiB = 1 << 20
p1, p2, p3 = os.urandom(5 * MiB), os.urandom(6 * MiB + 3), os.urandom(1000)
up = s3.create_multipart_upload(Bucket="beta", Key="mp/object")["UploadId"]
other = s3.create_multipart_upload(Bucket="beta", Key="mp/abandoned")["UploadId"]
def part(n, body):
    return s3.upload_part(Bucket="beta", Key="mp/object", UploadId=up, PartNumber=n, Body=body)["ETag"]
e3 = part(3, p3)
stale = part(2, b"x" * 100)  # written again below: the second one counts
e2 = part(2, p2)
e1 = part(1, p1)
assert e1 == '"%s"' % hashlib.md5(p1).hexdigest()
r = s3.list_parts(Bucket="beta", Key="mp/object", UploadId=up)
assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in r["Parts"]] == [(1, len(p1), e1), (2, len(p2), e2), (3, len(p3), e3)], r["Parts"]
r = s3.list_parts(Bucket="beta", Key="mp/object", UploadId=up, MaxParts=2)
assert r["IsTruncated"] and r["NextPartNumberMarker"] == 2 and len(r["Parts"]) == 2
r = s3.list_parts(Bucket="beta", Key="mp/object", UploadId=up, PartNumberMarker=2)
assert [p["PartNumber"] for p in r["Parts"]] == [3] and not r["IsTruncated"]
listed = s3.list_multipart_uploads(Bucket="beta", Prefix="mp/")["Uploads"]
assert sorted((u["Key"], u["UploadId"]) for u in listed) == sorted([("mp/abandoned", other), ("mp/object", up)]), listed
error("404", s3.head_object, Bucket="beta", Key="mp/object")  # nothing visible before Complete
def complete(parts, key="mp/object", upload=up):
    return s3.complete_multipart_upload(Bucket="beta", Key=key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
error("InvalidPart", complete, parts=[(1, e1), (2, stale), (3, e3)])
error("InvalidPart", complete, parts=[(1, e1), (4, e3)])
error("InvalidPartOrder", complete, parts=[(2, e2), (1, e1)])
small = s3.create_multipart_upload(Bucket="beta", Key="mp/small")["UploadId"]
es1 = s3.upload_part(Bucket="beta", Key="mp/small", UploadId=small, PartNumber=1, Body=b"tiny")["ETag"]
es2 = s3.upload_part(Bucket="beta", Key="mp/small", UploadId=small, PartNumber=2, Body=b"end")["ETag"]
error("EntityTooSmall", complete, parts=[(1, es1), (2, es2)], key="mp/small", upload=small)
error("NoSuchUpload", complete, parts=[(1, e1)], key="mp/other-key")
r = complete([(1, e1), (2, e2), (3, e3)])
digests = b"".join(hashlib.md5(p).digest() for p in (p1, p2, p3))
assert r["ETag"] == '"%s-3"' % hashlib.md5(digests).hexdigest(), r["ETag"]
assert s3.head_object(Bucket="beta", Key="mp/object")["ETag"] == r["ETag"]
assert complete([(1, e1), (2, e2), (3, e3)])["ETag"] == r["ETag"], "a Complete sent again succeeds"
body = s3.get_object(Bucket="beta", Key="mp/object")["Body"].read()
assert body == p1 + p2 + p3, "the object is its parts end to end"
rng = s3.get_object(Bucket="beta", Key="mp/object", Range="bytes=%d-%d" % (5 * MiB - 10, 5 * MiB + 9))["Body"].read()
assert rng == (p1 + p2)[5 * MiB - 10 : 5 * MiB + 10], "a range across two parts"
error("NoSuchUpload", s3.list_parts, Bucket="beta", Key="mp/object", UploadId=up)
# UploadPartCopy: a part taken from a range of another object.
cp = s3.create_multipart_upload(Bucket="beta", Key="mp/copied")["UploadId"]
c1 = s3.upload_part_copy(Bucket="beta", Key="mp/copied", UploadId=cp, PartNumber=1,
                         CopySource={"Bucket": "beta", "Key": "mp/object"},
                         CopySourceRange="bytes=0-%d" % (5 * MiB - 1))["CopyPartResult"]["ETag"]
c2 = s3.upload_part(Bucket="beta", Key="mp/copied", UploadId=cp, PartNumber=2, Body=b"tail")["ETag"]
complete([(1, c1), (2, c2)], key="mp/copied", upload=cp)
assert s3.get_object(Bucket="beta", Key="mp/copied")["Body"].read() == p1 + b"tail"
# Aborts: the abandoned uploads go, and never become objects.
s3.abort_multipart_upload(Bucket="beta", Key="mp/abandoned", UploadId=other)
s3.abort_multipart_upload(Bucket="beta", Key="mp/small", UploadId=small)
error("NoSuchUpload", s3.list_parts, Bucket="beta", Key="mp/abandoned", UploadId=other)
error("NoSuchUpload", s3.upload_part, Bucket="beta", Key="mp/abandoned", UploadId=other, PartNumber=1, Body=b"x")
error("NoSuchUpload", s3.list_parts, Bucket="beta", Key="mp/object", UploadId="not-an-upload")
error("InvalidArgument", s3.upload_part, Bucket="beta", Key="mp/object", UploadId=cp, PartNumber=10001, Body=b"x")
assert "Uploads" not in s3.list_multipart_uploads(Bucket="beta", Prefix="mp/")
error("404", s3.head_object, Bucket="beta", Key="mp/abandoned")
s3.delete_objects(Bucket="beta", Delete={"Objects": [{"Key": "mp/object"}, {"Key": "mp/copied"}]})
EOF
check "no upload is left in dfs after the aborts" bash -c "
  out=\"\$('$DFS' admin uploads)\" && ! grep -q /beta/mp/ <<<\"\$out\""
check "a presigned URL reads the object with no credentials, until it expires" py <<'EOF'
import sys, time, urllib.request, urllib.error, boto3
from botocore.config import Config
endpoint, ak, sk = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(signature_version="s3v4"))
v2 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(signature_version="s3"))
try:
    urllib.request.urlopen(v2.generate_presigned_url("get_object", Params={"Bucket": "beta", "Key": "top-007"}))
    sys.exit("a Signature Version 2 URL was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 400 and b"Signature Version 4" in e.read()
url = s3.generate_presigned_url("get_object", Params={"Bucket": "beta", "Key": "top-007"}, ExpiresIn=300)
assert urllib.request.urlopen(url).read() == b"top-007"
short = s3.generate_presigned_url("get_object", Params={"Bucket": "beta", "Key": "top-007"}, ExpiresIn=1)
deadline = time.time() + 10
while time.time() < deadline:
    try:
        urllib.request.urlopen(short).read()
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"AccessDenied" in e.read(), e
        break
    time.sleep(0.2)
else:
    sys.exit("a presigned URL still worked 10 s after it expired")
tampered = url.replace("top-007", "top-008")
try:
    urllib.request.urlopen(tampered)
    sys.exit("a presigned URL for another key was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 403 and b"SignatureDoesNotMatch" in e.read()
EOF
s3_error "a wrong secret is SignatureDoesNotMatch" "SignatureDoesNotMatch" \
  env AWS_SECRET_ACCESS_KEY=not-the-secret-at-all aws s3 ls s3://beta
s3_error "an unknown access key is InvalidAccessKeyId" "InvalidAccessKeyId" \
  env AWS_ACCESS_KEY_ID=nosuchkey aws s3 ls
check "an unsigned request is AccessDenied" bash -c "
  curl -s '$ENDPOINT/beta/top-007' | grep -q '<Code>AccessDenied</Code>'"

# ---- rclone and s3cmd ----
mkdir -p "$WORK/tree/a/b"
for i in 1 2 3 4 5; do head -c $((i * 70000)) /dev/urandom >"$WORK/tree/a/f$i"; done
cp "$WORK/small" "$WORK/tree/a/b/s"
export RCLONE_CONFIG_D_TYPE=s3 RCLONE_CONFIG_D_PROVIDER=Other RCLONE_CONFIG_D_ENDPOINT="$ENDPOINT"
export RCLONE_CONFIG_D_ACCESS_KEY_ID="$AK" RCLONE_CONFIG_D_SECRET_ACCESS_KEY="$SK" RCLONE_CONFIG="$WORK/rclone.conf"
check "rclone copies a tree in" rclone copy "$WORK/tree" d:gamma/tree
check "rclone check finds the copy identical (sizes and MD5s)" rclone check "$WORK/tree" d:gamma/tree
check "rclone copies it back out" bash -c "rclone copy d:gamma/tree '$WORK/tree-out' && diff -r '$WORK/tree' '$WORK/tree-out'"
S3CMD=(s3cmd --no-ssl --host="127.0.0.1:$PORT" --host-bucket="127.0.0.1:$PORT" --access_key="$AK"
  --secret_key="$SK" --region=us-east-1 --no-check-md5 -c /dev/null)
check "s3cmd puts, lists, gets and deletes" bash -c "
  $(printf '%q ' "${S3CMD[@]}") put -q '$WORK/small' s3://gamma/s3cmd/one &&
  $(printf '%q ' "${S3CMD[@]}") ls s3://gamma/s3cmd/ | grep -q 's3://gamma/s3cmd/one' &&
  $(printf '%q ' "${S3CMD[@]}") get -q --force s3://gamma/s3cmd/one '$WORK/sc' && cmp '$WORK/sc' '$WORK/small' &&
  $(printf '%q ' "${S3CMD[@]}") del -q s3://gamma/s3cmd/one"

# ---- another user: the masters' permissions hold through the gateway ----
"$DFS" keygen "$WORK/carol" >/dev/null
"$DFS" admin keys add client carol "$WORK/carol.pub" >/dev/null
echo "carolkey carol-secret-1234 $WORK/carol.key" >>"$CREDS"
"$DFS" chmod 700 /beta
# Buckets are made in /, which is admin's: admin makes carol's and gives it to her.
aws s3 mb s3://carols >/dev/null
"$DFS" chown carol /carols
as_carol() { env AWS_ACCESS_KEY_ID=carolkey AWS_SECRET_ACCESS_KEY=carol-secret-1234 aws "$@"; }
check "a key added to the credentials file is taken in without a restart" \
  eventually 10 bash -c "$(declare -f as_carol); as_carol s3 ls s3://carols/ >/dev/null 2>&1"
check "carol writes into her bucket as herself" bash -c "
  $(declare -f as_carol); as_carol s3 cp --quiet '$WORK/small' s3://carols/mine &&
  '$DFS' stat /carols/mine | grep -qE 'owner: +carol'"
s3_error "carol cannot read admin's private bucket" "AccessDenied|Forbidden" as_carol s3 cp s3://beta/top-007 "$WORK/x"
s3_error "carol cannot list it" "AccessDenied" as_carol s3 ls s3://beta/
s3_error "carol cannot make a bucket in admin's /" "AccessDenied" as_carol s3 mb s3://notcarols

finish
