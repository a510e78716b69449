<?php
/*
 * Plugin Name: Casebook publishing
 * Description: Lets `casebook publish` put content packs (.cbpack), their signed
 *              catalogue (catalogue.json, catalogue.json.sig), its link file (.cbcat) and
 *              the publisher's public key (.pub) in the media library, at fixed
 *              addresses under uploads/casebook/ that readers' Casebook can check.
 * Version: 1
 *
 * Stock WordPress refuses these file types, files uploads by month (so the catalogue's
 * address would change every month) and renames files whose names have short dotted
 * parts (org.acme.guide -> org.acme_.guide). This plugin changes that for these files
 * only, and only for users who may publish posts. Install it as a must-use plugin
 * (copy it into wp-content/mu-plugins/) or as a normal plugin.
 */

if (!defined('ABSPATH')) {
    exit;
}

function casebook_publishing_is_ours($name) {
    return (bool) preg_match('/^[A-Za-z0-9][A-Za-z0-9._-]*\.(cbpack|cbcat|json|sig|pub)$/',
                             (string) $name);
}

function casebook_publishing_allowed() {
    return current_user_can('upload_files') && current_user_can('publish_posts');
}

// The file types. fileinfo reads a pack as application/zip, which WordPress lets pass
// for an application/* type; the catalogue, its signature, the link file (.cbcat) and
// the publisher's public key (.pub) are JSON.
add_filter('upload_mimes', function ($mimes) {
    if (casebook_publishing_allowed()) {
        $mimes['cbpack'] = 'application/vnd.casebook.pack+zip';
        $mimes['json'] = 'application/json';
        $mimes['sig'] = 'application/json';
        $mimes['cbcat'] = 'application/json';
        $mimes['pub'] = 'application/json';
    }
    return $mimes;
});

// Names kept as they are (they are already safe: letters, digits, dots, dashes).
add_filter('sanitize_file_name', function ($filename, $raw) {
    return casebook_publishing_is_ours($raw) ? $raw : $filename;
}, 10, 2);

function casebook_publishing_upload_dir($dirs) {
    $dirs['subdir'] = '/casebook';
    $dirs['path'] = $dirs['basedir'] . '/casebook';
    $dirs['url'] = $dirs['baseurl'] . '/casebook';
    return $dirs;
}

// One folder for Casebook's files, whatever the month.
foreach (array('wp_handle_upload_prefilter', 'wp_handle_sideload_prefilter') as $hook) {
    add_filter($hook, function ($file) {
        if (casebook_publishing_is_ours($file['name'] ?? '') && casebook_publishing_allowed()) {
            add_filter('upload_dir', 'casebook_publishing_upload_dir');
        }
        return $file;
    });
}
add_filter('wp_handle_upload', function ($upload) {
    remove_filter('upload_dir', 'casebook_publishing_upload_dir');
    return $upload;
});

// Where the files end up, so Casebook can name the catalogue's address before the
// first upload (and can tell that this plugin is there).
add_action('rest_api_init', function () {
    register_rest_route('casebook/v1', '/uploads', array(
        'methods' => 'GET',
        'permission_callback' => 'casebook_publishing_allowed',
        'callback' => function () {
            $dirs = casebook_publishing_upload_dir(wp_upload_dir(null, false));
            return array('version' => 1, 'url' => trailingslashit($dirs['url']));
        },
    ));
});
