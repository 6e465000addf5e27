variable "bucket_prefix" {
  description = "Prefix of the website bucket name; S3 appends a unique suffix."
  type        = string
}

variable "web_dir" {
  description = "Directory whose files (all of them, recursively) are uploaded as the site. A file named config.js in it is ignored: the module writes its own."
  type        = string
}

variable "upload" {
  description = "Upload the site files and config.js. False creates the empty bucket only (before a model exists)."
  type        = bool
  default     = true
}

variable "api_url" {
  description = "Base URL of the HTTP API, written into config.js as apiUrl (the page posts to apiUrl + \"/predict\")."
  type        = string
  default     = null
}

variable "feature_schema_path" {
  description = "Path of feature_schema.json, written into config.js as schema. Required when upload is true."
  type        = string
  default     = null
}

variable "index_document" {
  description = "Object served for the site root."
  type        = string
  default     = "index.html"
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
  description = "Tags added to the bucket."
  type        = map(string)
  default     = {}
}
