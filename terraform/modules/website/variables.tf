variable "name" {
  description = "Name of the origin access control and the distribution's comment; prefix of the response headers policy name."
  type        = string
}

variable "bucket_prefix" {
  description = "Prefix of the website bucket name; S3 appends a unique suffix."
  type        = string
}

variable "web_dir" {
  description = "Directory whose files (all of them, recursively, except skip_files) are uploaded as the site."
  type        = string
}

variable "skip_files" {
  description = "Paths under web_dir never uploaded: config.js (the module writes its own) and the security headers file (CloudFront sends its headers)."
  type        = list(string)
  default     = ["config.js", "security_headers.json"]
}

variable "upload" {
  description = "Upload the site files and config.js. False creates the empty bucket and the distribution only (before a model exists)."
  type        = bool
  default     = true
}

variable "api" {
  description = "The HTTP API this distribution serves at path (a second origin: domain_name, its execute-api host, no scheme; CloudFront waits read_timeout_s for an answer), so the page calls its own origin. Null: no API origin and no API path (before a model exists)."
  type = object({
    domain_name    = string
    path           = optional(string, "/predict")
    read_timeout_s = optional(number, 30)
  })
  default = null

  validation {
    condition     = var.api == null ? true : can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.api.domain_name))
    error_message = "api.domain_name must be a host name (e.g. a1b2c3d4e5.execute-api.us-east-1.amazonaws.com): no scheme, no path, no port."
  }

  validation {
    condition     = var.api == null ? true : can(regex("^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", var.api.path))
    error_message = "api.path must be one exact path such as /predict (a leading /, no wildcard, no trailing /)."
  }

  validation {
    condition     = var.api == null ? true : var.api.read_timeout_s >= 1 && var.api.read_timeout_s <= 120
    error_message = "api.read_timeout_s must be 1-120 seconds (CloudFront's origin response timeout)."
  }
}

variable "feature_schema_path" {
  description = "Path of feature_schema.json, written into config.js as schema. Required when upload is true."
  type        = string
  default     = null
}

variable "security_headers_path" {
  description = "Path of the JSON file of the page's security headers (web/security_headers.json): Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, Referrer-Policy."
  type        = string

  validation {
    condition = can(alltrue([
      for k in ["Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"] :
      length(jsondecode(file(var.security_headers_path))[k]) > 0
    ]))
    error_message = "security_headers_path must name a JSON file holding the five security headers."
  }
}

variable "response_headers_policy_id" {
  description = "ID of an existing response headers policy to attach instead of creating one from security_headers_path (tests against moto, which lacks that API, pass the managed SecurityHeadersPolicy 67f7725c-6f97-4210-82d7-5512b31e9d03). Null creates the policy."
  type        = string
  default     = null
}

variable "index_document" {
  description = "Object served for the site root (the distribution's default root object)."
  type        = string
  default     = "index.html"
}

variable "cache_control" {
  description = "Cache-Control of every uploaded object. no-cache: the files are not content-hashed, so browsers and the edge revalidate (ETag) and an apply is visible within the cache policy's 1 s minimum TTL."
  type        = string
  default     = "no-cache"
}

variable "price_class" {
  description = "CloudFront price class: PriceClass_100 (North America, Europe: the cheapest), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "wait_for_deployment" {
  description = "Wait until the distribution is deployed to every edge location (several minutes) before the apply finishes."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with objects not managed here (everything in it is generated)."
  type        = bool
  default     = true
}

variable "content_types" {
  description = "Content-Type by file extension (lowercase, no dot); unknown extensions get application/octet-stream."
  type        = map(string)
  default = {
    html  = "text/html; charset=utf-8"
    htm   = "text/html; charset=utf-8"
    css   = "text/css; charset=utf-8"
    js    = "text/javascript; charset=utf-8"
    mjs   = "text/javascript; charset=utf-8"
    json  = "application/json"
    map   = "application/json"
    txt   = "text/plain; charset=utf-8"
    csv   = "text/csv; charset=utf-8"
    svg   = "image/svg+xml"
    png   = "image/png"
    jpg   = "image/jpeg"
    jpeg  = "image/jpeg"
    gif   = "image/gif"
    webp  = "image/webp"
    ico   = "image/x-icon"
    woff  = "font/woff"
    woff2 = "font/woff2"
  }
}

variable "tags" {
  description = "Tags added to the bucket and the distribution."
  type        = map(string)
  default     = {}
}
