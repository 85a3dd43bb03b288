// Types shared by the S3 server and its backends (kept apart so that they import no cycle).

export type S3Kind = 'minio' | 'radosgw' | 's3rver';

/** What the running server really supports; tests of optional features check these. */
export interface S3Capabilities {
  /** ListMultipartUploads (`GET /bucket?uploads`, minio's `listIncompleteUploads`). */
  listMultipartUploads: boolean;
  /** AbortMultipartUpload. */
  abortMultipart: boolean;
  /** Server-side compose (UploadPartCopy, minio's `composeObject`). */
  compose: boolean;
  /** A request signed with a wrong secret key is rejected. */
  checksSecretKey: boolean;
  /** ListObjectsV2 pages past the first 1,000 keys (continuation tokens). */
  pagesPast1000: boolean;
}

/** What a backend (MinIO container, radosgw or s3rver child processes) hands to S3Server; not exported by the kit. */
export interface S3Backend {
  readonly kind: S3Kind;
  readonly endPoint: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly capabilities: S3Capabilities;
  /** Pid of the server process; undefined for a container or once stopped. */
  readonly pid: number | undefined;
  /** Every process of the server that still runs (radosgw's monitor, OSD and gateway). */
  readonly pids?: number[];
  /** The server's own temp dir (its data, config and logs); undefined for a container. */
  readonly dir: string | undefined;
  stop(): Promise<void>;
}
