// Multi-platform builds of the media-sync image (NAS boxes are often ARM). From the
// repository root (paths below are relative to it):
//   docker buildx bake -f deploy/docker-bake.hcl                  # both platforms, build only
//   IMAGE=registry.example/media-sync TAG=0.1.0 docker buildx bake -f deploy/docker-bake.hcl --push
//   docker buildx bake -f deploy/docker-bake.hcl arm64 --load     # one platform into local images

variable "IMAGE" {
  default = "media-sync"
}

variable "TAG" {
  default = "latest"
}

// Numeric owner of the files the container writes on the share (see deploy/.env.example).
variable "PUID" {
  default = "1000"
}

variable "PGID" {
  default = "1000"
}

group "default" {
  targets = ["media-sync"]
}

target "_common" {
  context    = "."
  dockerfile = "deploy/Dockerfile"
  args = {
    UID = PUID
    GID = PGID
  }
  labels = {
    "org.opencontainers.image.title"       = "media-sync"
    "org.opencontainers.image.description" = "LAN-first media ingest: uploads, NAS drops, catalog, thumbnails, Resolve bridge"
  }
}

target "media-sync" {
  inherits  = ["_common"]
  platforms = ["linux/amd64", "linux/arm64"]
  tags      = ["${IMAGE}:${TAG}"]
}

target "amd64" {
  inherits  = ["_common"]
  platforms = ["linux/amd64"]
  tags      = ["${IMAGE}:${TAG}-amd64"]
}

target "arm64" {
  inherits  = ["_common"]
  platforms = ["linux/arm64"]
  tags      = ["${IMAGE}:${TAG}-arm64"]
}
